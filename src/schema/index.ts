import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config.ts';
import './partner.ts';
import './channel.ts';
import './tag.ts';
import './invite-link.ts';
import './short-link.ts';
import './api-token.ts';
import { builder } from './builder.ts';

/** The GraphQL schema, as the server and schema.graphql print it. */
export function buildSchema(_config: Pick<Config, 'NODE_ENV'>): GraphQLSchema {
  return builder.toSchema({ sortSchema: false });
}
