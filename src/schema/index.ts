import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config.ts';
import { createBuilder } from './builder.ts';
import { addPartnerTypes } from './partner.ts';
import { addChannelTypes } from './channel.ts';
import { addTagTypes } from './tag.ts';
import { addInviteLinkTypes } from './invite-link.ts';
import { addShortLinkTypes } from './short-link.ts';
import { addApiTokenTypes } from './api-token.ts';
import { addStatsTypes } from './stats.ts';

/** The GraphQL schema, as the server serves it and schema.graphql prints it. */
export function buildSchema(config: Pick<Config, 'NODE_ENV'>): GraphQLSchema {
  const builder = createBuilder(config);
  addPartnerTypes(builder);
  addChannelTypes(builder);
  const { Tag } = addTagTypes(builder);
  addInviteLinkTypes(builder, { Tag });
  addShortLinkTypes(builder);
  addApiTokenTypes(builder);
  addStatsTypes(builder, { Tag });
  return builder.toSchema({ sortSchema: false });
}
