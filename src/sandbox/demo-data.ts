import type { Database } from '../db/database.ts';
import { generateTokenSecret, hashToken } from '../auth/api-tokens.ts';

export const SANDBOX_ACCOUNT_ID = '00000000-0000-7000-8000-000000000001';
const SANDBOX_TOKEN_NAME = 'sandbox';

/** The three demo chats of the Telegram emulator (README, "Sandbox"). */
export const DEMO_CHAT_IDS = {
  botCanInvite: -1001000000001,
  botLacksInviteRights: -1001000000002,
  botNotMember: -1001000000003,
} as const;

const DEMO_TAGS: { type: string | null; tags: [string, string][] }[] = [
  {
    type: 'Source',
    tags: [
      ['Telegram Ads', '#2AABEE'],
      ['Bloggers', '#F5A623'],
      ['Cross-promo', '#7ED321'],
    ],
  },
  {
    type: 'Campaign',
    tags: [
      ['Black Friday', '#000000'],
      ['Spring sale', '#50E3C2'],
    ],
  },
  { type: null, tags: [['Test', '#9B9B9B']] },
];

/**
 * Creates the demo account, its channel and tags if absent, and makes `token` (or a fresh random
 * one) its API token. Returns the secret to print.
 */
export async function ensureSandboxAccount(db: Database, token?: string): Promise<string> {
  const prisma = db.prisma;
  const secret = token ?? generateTokenSecret();
  await prisma.$transaction(async (tx) => {
    await tx.account.upsert({
      where: { id: SANDBOX_ACCOUNT_ID },
      create: { id: SANDBOX_ACCOUNT_ID, name: 'Demo account' },
      update: {},
    });
    const tokenHash = hashToken(secret);
    const existing = await tx.apiToken.findUnique({ where: { tokenHash } });
    if (!existing) {
      await tx.apiToken.updateMany({
        where: { accountId: SANDBOX_ACCOUNT_ID, name: SANDBOX_TOKEN_NAME, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      await tx.apiToken.create({ data: { accountId: SANDBOX_ACCOUNT_ID, name: SANDBOX_TOKEN_NAME, tokenHash } });
    }
    await tx.channel.upsert({
      where: { accountId_telegramId: { accountId: SANDBOX_ACCOUNT_ID, telegramId: BigInt(DEMO_CHAT_IDS.botCanInvite) } },
      create: {
        accountId: SANDBOX_ACCOUNT_ID,
        telegramId: BigInt(DEMO_CHAT_IDS.botCanInvite),
        title: 'Demo channel',
        username: 'inviteql_demo',
        botIsAdmin: true,
        botCanInviteUsers: true,
        // Operator-made, like the channels a migration found: no ownership proof to ask for.
        status: 'VERIFIED',
      },
      update: {},
    });
    if ((await tx.tagType.count({ where: { accountId: SANDBOX_ACCOUNT_ID } })) === 0) {
      for (const group of DEMO_TAGS) {
        const type = group.type ? await tx.tagType.create({ data: { accountId: SANDBOX_ACCOUNT_ID, name: group.type } }) : null;
        await tx.tag.createMany({
          data: group.tags.map(([name, color]) => ({ accountId: SANDBOX_ACCOUNT_ID, typeId: type?.id ?? null, name, color })),
        });
      }
    }
  });
  return secret;
}
