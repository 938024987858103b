import { lexicographicSortSchema, printSchema } from 'graphql';
import type { Config } from '../config.ts';
import { buildSchema } from './index.ts';

export const printSchemaFile = (config: Pick<Config, 'NODE_ENV'>) => `${printSchema(lexicographicSortSchema(buildSchema(config)))}\n`;
