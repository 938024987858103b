import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index.ts';

export const printSchemaFile = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
