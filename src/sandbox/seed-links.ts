// Bulk demo data: many realistic invite links in one channel of the demo (sandbox) account.
// Used by `npm run seed` and by the benchmark (bench/run.ts). Rows are generated inside the
// database (INSERT ... SELECT FROM generate_series), so 100,000 links take seconds, not minutes.
import type { Database } from '../db/database.ts';
import { TELEGRAM_LIMITS } from '../telegram-limits.ts';
import { DEMO_CHAT_IDS, SANDBOX_ACCOUNT_ID, ensureSandboxAccount } from './demo-data.ts';

/** Tag types and their tags (name, colour); `type: null` are tags without a type. Tag names are unique. */
export const SEED_TAGS: { type: string | null; tags: [name: string, color: string][] }[] = [
  {
    type: 'Source',
    tags: [
      ['Telegram Ads', '#2AABEE'],
      ['Bloggers', '#F5A623'],
      ['Cross-promo', '#7ED321'],
      ['VK Ads', '#0077FF'],
      ['Yandex Direct', '#FFCC00'],
    ],
  },
  {
    type: 'Campaign',
    tags: [
      ['Black Friday', '#000000'],
      ['Spring sale', '#50E3C2'],
      ['New Year', '#D0021B'],
      ['Course launch', '#9013FE'],
    ],
  },
  {
    type: 'Region',
    tags: [
      ['Moscow', '#B8E986'],
      ['Saint Petersburg', '#4A90E2'],
      ['Kazakhstan', '#00AFCA'],
      ['CIS', '#8B572A'],
      ['Europe', '#003399'],
    ],
  },
  {
    type: 'Format',
    tags: [
      ['Post', '#417505'],
      ['Story', '#BD10E0'],
      ['Video', '#F8E71C'],
      ['Giveaway tag', '#FF6F61'],
    ],
  },
  {
    type: null,
    tags: [
      ['Test', '#9B9B9B'],
      ['VIP', '#C9A227'],
      ['Retargeting', '#FF3B30'],
      ['Archive', '#4A4A4A'],
    ],
  },
];

export const SEED_PARTNERS: [externalId: number, title: string][] = [
  [1001, 'Агентство «Медиасфера»'],
  [1002, 'Blogger Hub'],
  [1003, 'Promo Partners LLC'],
  [1004, 'ТГ-Маркет'],
  [1005, 'AdsLab'],
];

/** Telegram user ids of the admins who create links. */
export const SEED_CREATOR_IDS = [412345678, 987654321, 5000000001, 5000000002, 5000000003];

// Link names: "<campaign> <placement> <n>", at most 32 characters. About 1 link in 24 has each
// campaign word, so a name search for one of them (e.g. "giveaway") matches a few per cent.
const NAME_CAMPAIGNS = [
  'Реклама у блогера',
  'Посев',
  'Telegram Ads',
  'Giveaway',
  'Розыгрыш',
  'Black Friday',
  'Чёрная пятница',
  'Spring sale',
  'Весенняя распродажа',
  'Cross-promo',
  'Взаимопиар',
  'Promo',
  'Нативка',
  'Email рассылка',
  'Stories',
  'Ретаргетинг',
  'Webinar',
  'Вебинар',
  'Yandex Direct',
  'VK Ads',
  'Influencer',
  'Конкурс',
  'Launch',
  'Запуск курса',
];
const NAME_PLACEMENTS = [
  'Крипта',
  'Маркетинг',
  'IT news',
  'Финансы',
  'Tech daily',
  'Путешествия',
  'Бизнес',
  'Design',
  'Lifestyle',
  'Новости',
  'Startups',
  'Кулинария',
  'Sport',
  'Мамы',
  'Gaming',
  'Авто',
];
const MEMBER_LIMITS = [1, 5, 10, 50, 100, 500, 1000, 5000];
const SUBSCRIPTION_PRICES = [50, 99, 150, 250, 300, 500, 1000];

export interface SeedOptions {
  /** How many links to add. */
  links: number;
  /** Telegram id of the demo account's channel to fill (created if absent); default the demo channel. */
  channelTelegramId?: number;
  /** Title for a channel this call creates (not the demo channel, which ensureSandboxAccount creates). */
  channelTitle?: string;
  /** Rows per INSERT statement. */
  batchSize?: number;
  /**
   * Passed to ensureSandboxAccount. Without it, an existing demo account keeps its tokens; a
   * missing account (or demo channel) gets a random token nobody is shown: `npm start` replaces it
   * and prints its own.
   */
  sandboxToken?: string;
  /** Called after each batch with the number of links inserted so far. */
  onProgress?: (inserted: number) => void;
}

export interface SeedResult {
  /** Database id (UUID) of the filled channel. */
  channelId: string;
  /** Links inserted by this call. */
  links: number;
  /** Links now in the channel. */
  total: number;
  /** Tag assignments inserted by this call. */
  linkTags: number;
  /** Joins and leaves inserted by this call (seedMemberEvents). */
  memberEvents: number;
  ms: number;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sqlText = (value: string) => `'${value.replace(/'/g, "''")}'`;
const sqlTextArray = (values: readonly string[]) => `ARRAY[${values.map(sqlText).join(', ')}]::text[]`;
const sqlIntArray = (values: readonly number[], type: 'int' | 'bigint') => {
  for (const value of values) if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return `ARRAY[${values.join(', ')}]::${type}[]`;
};
const sqlUuid = (value: string) => {
  if (!UUID_PATTERN.test(value)) throw new Error(`not a uuid: ${value}`);
  return `'${value}'::uuid`;
};
const sqlUuidArray = (values: readonly string[]) => `ARRAY[${values.map(sqlUuid).join(', ')}]::uuid[]`;
/** `array[1 + floor(r * cardinality)]`: a uniformly chosen element. */
const pick = (array: string, random: string) => `(${array})[1 + floor(${random} * cardinality(${array}))::int]`;

/** Tag types, tags and partners of the demo account; existing ones (matched by name / external id) are kept. */
export async function ensureSeedCatalog(db: Database): Promise<{ tagIds: string[]; partnerIds: string[] }> {
  const prisma = db.prisma;
  const accountId = SANDBOX_ACCOUNT_ID;
  const tagIds: string[] = [];
  for (const group of SEED_TAGS) {
    const typeId = group.type
      ? (
          await prisma.tagType.upsert({
            where: { accountId_name: { accountId, name: group.type } },
            create: { accountId, name: group.type },
            update: {},
            select: { id: true },
          })
        ).id
      : null;
    for (const [name, color] of group.tags) {
      const existing = await prisma.tag.findFirst({ where: { accountId, typeId, name }, select: { id: true } });
      const tag = existing ?? (await prisma.tag.create({ data: { accountId, typeId, name, color }, select: { id: true } }));
      tagIds.push(tag.id);
    }
  }
  const partnerIds: string[] = [];
  for (const [externalId, title] of SEED_PARTNERS) {
    const partner = await prisma.partner.upsert({
      where: { accountId_externalId: { accountId, externalId } },
      create: { accountId, externalId, title },
      update: {},
      select: { id: true },
    });
    partnerIds.push(partner.id);
  }
  return { tagIds, partnerIds };
}

/** The demo account exists with its demo channel and a token. */
async function ensureDemoAccount(db: Database, sandboxToken?: string): Promise<void> {
  const prisma = db.prisma;
  const [account, demoChannel] = await Promise.all([
    prisma.account.findUnique({ where: { id: SANDBOX_ACCOUNT_ID }, select: { id: true } }),
    prisma.channel.findUnique({
      where: { accountId_telegramId: { accountId: SANDBOX_ACCOUNT_ID, telegramId: BigInt(DEMO_CHAT_IDS.botCanInvite) } },
      select: { id: true },
    }),
  ]);
  if (account && demoChannel && sandboxToken === undefined) return;
  await ensureSandboxAccount(db, sandboxToken);
}

/** The demo account's channel with this Telegram id, created if absent. */
export async function ensureSeedChannel(db: Database, telegramId: number, title?: string) {
  return db.prisma.channel.upsert({
    where: { accountId_telegramId: { accountId: SANDBOX_ACCOUNT_ID, telegramId: BigInt(telegramId) } },
    create: {
      accountId: SANDBOX_ACCOUNT_ID,
      telegramId: BigInt(telegramId),
      title: title ?? `Seeded channel ${telegramId}`,
      botIsAdmin: true,
      botCanInviteUsers: true,
      status: 'VERIFIED',
    },
    update: {},
    select: { id: true, telegramId: true, title: true },
  });
}

export async function countChannelLinks(db: Database, channelId: string): Promise<number> {
  return db.prisma.inviteLink.count({ where: { accountId: SANDBOX_ACCOUNT_ID, channelId } });
}

/** One statement: `count` links plus 0-3 tags each. Returns [links, link tags] inserted. */
export function insertBatchSql(input: {
  count: number;
  channelId: string;
  chatId: number;
  tagIds: readonly string[];
  partnerIds: readonly string[];
}): string {
  const { count, channelId, chatId, tagIds, partnerIds } = input;
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`bad batch size ${count}`);
  if (!Number.isSafeInteger(chatId)) throw new Error(`bad chat id ${chatId}`);
  const campaigns = sqlTextArray(NAME_CAMPAIGNS);
  const placements = sqlTextArray(NAME_PLACEMENTS);
  const tags = tagIds.length ? sqlUuidArray(tagIds) : 'ARRAY[]::uuid[]';
  const partners = partnerIds.length ? sqlUuidArray(partnerIds) : 'ARRAY[]::uuid[]';
  // Random numbers r1..r18 per row; `h` (the id's 16 bytes) picks the tags, so the tag lateral
  // depends on the row and is evaluated once per link.
  return `
WITH src AS (
  SELECT gen_random_uuid() AS id,
         now() - random() * interval '365 days' AS created_at,
         random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
         random() AS r7, random() AS r8, random() AS r9, random() AS r10, random() AS r11, random() AS r12,
         random() AS r13, random() AS r14, random() AS r15, random() AS r16, random() AS r17, random() AS r18
  FROM generate_series(1, ${count})
), shaped AS (
  SELECT src.*, r1 < 0.08 AS is_subscription, r1 >= 0.08 AND r2 < 0.10 AS join_request FROM src
), ins AS (
  INSERT INTO invite_links (
    id, account_id, channel_id, chat_id, name, invite_link, kind, creates_join_request, expire_date,
    member_limit, subscription_period, subscription_price, is_revoked, is_bot_created, creator_id,
    partner_id, budget, created_at, updated_at
  )
  SELECT
    id, ${sqlUuid(SANDBOX_ACCOUNT_ID)}, ${sqlUuid(channelId)}, ${chatId},
    rtrim(left(${pick(campaigns, 'r3')} || ' ' || ${pick(placements, 'r4')}, 27)) || ' ' || (1 + floor(r5 * 999))::int,
    'https://t.me/+' || left(translate(encode(decode(md5(id::text || random()::text), 'hex'), 'base64'), '+/', '-_'), 16),
    (CASE WHEN is_subscription THEN 'SUBSCRIPTION' ELSE 'REGULAR' END)::"InviteLinkKind",
    join_request,
    CASE WHEN NOT is_subscription AND r6 < 0.18 THEN created_at + (1 + floor(r7 * 90)) * interval '1 day' END,
    CASE WHEN NOT is_subscription AND NOT join_request AND r8 < 0.12 THEN ${pick(sqlIntArray(MEMBER_LIMITS, 'int'), 'r9')} END,
    CASE WHEN is_subscription THEN ${TELEGRAM_LIMITS.subscriptionPeriodSeconds} END,
    CASE WHEN is_subscription THEN ${pick(sqlIntArray(SUBSCRIPTION_PRICES, 'int'), 'r9')} END,
    r10 < 0.07,
    r11 < 0.92,
    ${pick(sqlIntArray(SEED_CREATOR_IDS, 'bigint'), 'r12')},
    CASE WHEN cardinality(${partners}) > 0 AND r13 < 0.30 THEN ${pick(partners, 'r14')} END,
    CASE WHEN r15 < 0.25 THEN 0 ELSE (floor((500 + power(r16, 2) * 199500) / 100) * 100)::int END,
    created_at,
    CASE WHEN r17 < 0.30 THEN created_at + (now() - created_at) * r18 END
  FROM shaped
  RETURNING id
), tagged AS (
  INSERT INTO invite_link_tags (invite_link_id, channel_id, tag_id)
  SELECT DISTINCT ins.id, ${sqlUuid(channelId)}, (${tags})[1 + get_byte(b.h, n.k) % cardinality(${tags})]
  FROM ins
  CROSS JOIN LATERAL (SELECT uuid_send(ins.id) AS h) b
  JOIN (VALUES (1), (2), (3)) AS n (k)
    ON n.k <= CASE WHEN cardinality(${tags}) = 0 THEN 0
                   WHEN get_byte(b.h, 0) < 51 THEN 0
                   WHEN get_byte(b.h, 0) < 141 THEN 1
                   WHEN get_byte(b.h, 0) < 218 THEN 2
                   ELSE 3 END
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS links, (SELECT count(*) FROM tagged)::int AS link_tags`;
}

/**
 * Joins and leaves for the channel's links, as member_events rows (the triggers fill
 * invite_link_stats from them), once: nothing when the channel has events already. About half
 * of the links brought nobody; the rest 1-7 joins, skewed low, and up to half as many leaves. One
 * INSERT ... SELECT, so the statement triggers count it in one pass. Returns the events inserted.
 */
export async function seedMemberEvents(db: Database, channelId: string): Promise<number> {
  const channel = sqlUuid(channelId);
  const [existing] = await db.prisma.$queryRawUnsafe<{ any: boolean }[]>(
    `SELECT EXISTS (SELECT 1 FROM member_events WHERE channel_id = ${channel}) AS any`,
  );
  if (existing?.any) return 0;
  const [row] = await db.prisma.$queryRawUnsafe<{ events: number }[]>(`
WITH drawn AS (
  SELECT l.id, l.account_id, l.channel_id, l.chat_id, l.created_at, floor(power(random(), 3) * 8)::int AS joins
  FROM invite_links l
  WHERE l.channel_id = ${channel}
), counts AS (
  SELECT drawn.*, floor(joins * random() * 0.5)::int AS leaves FROM drawn
), ins AS (
  INSERT INTO member_events (id, account_id, channel_id, chat_id, user_id, kind, invite_link_id, at)
  SELECT gen_random_uuid(), c.account_id, c.channel_id, c.chat_id, 100000000 + floor(random() * 900000000)::bigint,
         (CASE WHEN n.n <= c.joins THEN 'JOINED' ELSE 'LEFT' END)::"MemberEventKind", c.id,
         c.created_at + random() * (now() - c.created_at)
  FROM counts c
  CROSS JOIN LATERAL generate_series(1, c.joins + c.leaves) AS n (n)
  WHERE c.joins > 0
  RETURNING 1
)
SELECT count(*)::int AS events FROM ins`);
  await db.prisma.$executeRawUnsafe('VACUUM ANALYZE invite_link_stats');
  return Number(row?.events ?? 0);
}

/**
 * Adds `links` links to a channel of the demo account, creating the account, the channel, tag
 * types, tags and partners as needed. Links get varied Russian/English campaign names, a few
 * creators, budgets, expiries (many in the past), revocations, member limits, subscription links,
 * partners, created_at over the past year and 0-3 tags.
 */
export async function seedInviteLinks(db: Database, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const links = options.links;
  if (!Number.isSafeInteger(links) || links < 0) throw new Error(`--links must be a non-negative integer, got ${links}`);
  const telegramId = options.channelTelegramId ?? DEMO_CHAT_IDS.botCanInvite;
  const batchSize = options.batchSize ?? 25_000;

  await ensureDemoAccount(db, options.sandboxToken);
  const channel = await ensureSeedChannel(db, telegramId, options.channelTitle);
  const { tagIds, partnerIds } = await ensureSeedCatalog(db);

  let inserted = 0;
  let linkTags = 0;
  while (inserted < links) {
    const count = Math.min(batchSize, links - inserted);
    const sql = insertBatchSql({ count, channelId: channel.id, chatId: Number(channel.telegramId), tagIds, partnerIds });
    const [row] = await db.prisma.$queryRawUnsafe<{ links: number; link_tags: number }[]>(sql);
    inserted += Number(row?.links ?? 0);
    linkTags += Number(row?.link_tags ?? 0);
    if (Number(row?.links ?? 0) !== count) throw new Error(`batch inserted ${row?.links} links, expected ${count}`);
    options.onProgress?.(inserted);
  }
  if (inserted > 0) {
    // Fresh statistics and visibility map, so plans (and index-only counts) are what they will be later.
    await db.prisma.$executeRawUnsafe('VACUUM ANALYZE invite_links');
    await db.prisma.$executeRawUnsafe('VACUUM ANALYZE invite_link_tags');
    await db.prisma.$executeRawUnsafe('ANALYZE tags, tag_types, partners, channels');
  }
  const memberEvents = inserted > 0 ? await seedMemberEvents(db, channel.id) : 0;
  const total = await countChannelLinks(db, channel.id);
  return { channelId: channel.id, links: inserted, total, linkTags, memberEvents, ms: Math.round(performance.now() - started) };
}
