import './partner.ts';
import './channel.ts';
import './tag.ts';
import './invite-link.ts';
import './short-link.ts';
import './api-token.ts';
import { builder } from './builder.ts';

export const schema = builder.toSchema({ sortSchema: false });
