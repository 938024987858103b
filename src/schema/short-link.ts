import { builder } from './builder.ts';
import { upstreamError } from '../errors.ts';

const ShortLinkEntityType = builder.enumType('ShortLinkEntityType', { values: ['CONTACTS'] as const });

export const ShortLink = builder.prismaObject('ShortLink', {
  select: { id: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.expose('url', { type: 'URL', description: 'The short link returned by amoCRM' }),
    targetUrl: t.expose('targetUrl', { type: 'URL', description: 'The page it leads to' }),
    accountId: t.exposeInt('amoAccountId', { description: 'amoCRM account id' }),
    entityType: t.expose('entityType', { type: ShortLinkEntityType }),
    entityId: t.exposeInt('entityId', { description: 'amoCRM contact id' }),
    inviteLink: t.relation('inviteLink', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

interface ShortLinkFailureShape {
  index: number;
  code: string;
  message: string;
}

const ShortLinkFailure = builder.objectRef<ShortLinkFailureShape>('ShortLinkFailure').implement({
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position in the input list' }),
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

interface CreateShortLinksPayloadShape {
  shortLinks: (object | null)[];
  failures: ShortLinkFailureShape[];
}

const CreateShortLinksPayload = builder.objectRef<CreateShortLinksPayloadShape>('CreateShortLinksPayload').implement({
  fields: (t) => ({
    shortLinks: t.field({
      type: [ShortLink],
      nullable: { list: false, items: true },
      description: 'One per input item, in input order; null where that item failed',
      resolve: (payload) => payload.shortLinks as never,
    }),
    failures: t.field({ type: [ShortLinkFailure], resolve: (payload) => payload.failures }),
  }),
});

const ShortLinkInput = builder.inputType('ShortLinkInput', {
  fields: (t) => ({
    url: t.field({ type: 'URL', required: true }),
    entityType: t.field({ type: ShortLinkEntityType, defaultValue: 'CONTACTS' }),
    entityId: t.int({ required: true }),
    inviteLinkId: t.id(),
  }),
});

builder.mutationFields((t) => ({
  createShortLinks: t.field({
    type: CreateShortLinksPayload,
    description: 'amoCRM POST /api/v4/short_links (seed 004): one short link per contact, in input order',
    args: { input: t.arg({ type: [ShortLinkInput], required: true }) },
    resolve: () => {
      // The amoCRM adapter is issue 5; until it lands, say so instead of pretending.
      throw upstreamError('amoCRM short links are not available on this server yet', { reason: 'AMOCRM_NOT_CONFIGURED' });
    },
  }),
}));
