import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from '../services/deps.ts';
import { createRegularLink } from '../services/invite-links.ts';
import { DEMO_CHAT_IDS, SANDBOX_ACCOUNT_ID } from './demo-data.ts';
import type { TelegramEmulator } from './telegram-emulator.ts';

const DEMO_ACTOR: AccountActor = { kind: 'account', accountId: SANDBOX_ACCOUNT_ID, partnerId: null };
const CHANNEL = DEMO_CHAT_IDS.botCanInvite;
/** Emulated users of the demo history: far from the ids a newcomer tries by hand. */
const FIRST_USER_ID = 7_000_000_001;

/** The demo links: what they cost, their tags (by name), and what their audience does. */
const DEMO_LINKS = [
  { name: 'Telegram Ads, November', budget: 6000, tags: ['Telegram Ads', 'Black Friday'], joins: 40, leaves: 8 },
  { name: 'Blogger review', budget: 3000, tags: ['Bloggers'], joins: 24, leaves: 9 },
  { name: 'Cross-promo, neighbour channel', budget: 500, tags: ['Cross-promo', 'Spring sale'], joins: 12, leaves: 1 },
  { name: 'Private club (approval)', budget: 800, tags: ['Bloggers'], requests: 6, approved: 3 },
] as const;
const UNATTRIBUTED_JOINS = 5;

/**
 * The first sandbox start gives the demo channel a few links and a history of joins, leaves and
 * join requests, so a newcomer's first query has numbers in it. The links are created before the
 * server answers (so the first page is what it will stay); the users then act in the emulator in
 * the background, and their updates reach the server as Telegram's would (the poller, then the
 * update processor). Nothing happens when the demo account already has links.
 */
export async function startDemoHistory(
  deps: ServiceDeps,
  emulator: TelegramEmulator,
  signal: AbortSignal,
): Promise<{ acting: Promise<void> } | undefined> {
  if ((await deps.db.prisma.inviteLink.count({ where: { accountId: SANDBOX_ACCOUNT_ID } })) > 0) return undefined;
  const tags = await deps.db.prisma.tag.findMany({ where: { accountId: SANDBOX_ACCOUNT_ID }, select: { id: true, name: true } });
  const tagId = new Map(tags.map((tag) => [tag.name, tag.id]));
  const links: string[] = [];
  for (const demo of DEMO_LINKS) {
    const link = await createRegularLink(
      DEMO_ACTOR,
      deps,
      { select: { inviteLink: true } },
      {
        channelId: CHANNEL,
        name: demo.name,
        budget: demo.budget,
        createsJoinRequest: 'requests' in demo,
        tagIds: demo.tags.map((name) => tagId.get(name)).filter((id): id is string => id !== undefined),
      },
    );
    links.push(link.inviteLink);
  }
  // Wrapped: an async function's returned promise would be awaited with it.
  return { acting: act(emulator, links, signal) };
}

async function act(emulator: TelegramEmulator, links: string[], signal: AbortSignal): Promise<void> {
  // Telegram makes chat_member updates only once getUpdates has asked for them.
  while (!emulator.calls.some((call) => call.method === 'getUpdates')) {
    if (signal.aborted) return;
    await sleep(50);
  }
  let nextUser = FIRST_USER_ID;
  DEMO_LINKS.forEach((demo, index) => {
    const link = links[index]!;
    if ('requests' in demo) {
      for (let i = 0; i < demo.requests; i++) {
        const user = nextUser++;
        emulator.join(link, user);
        if (i < demo.approved) emulator.decideJoinRequest(CHANNEL, user, true);
      }
    } else {
      const users = Array.from({ length: demo.joins }, () => nextUser++);
      for (const user of users) emulator.join(link, user);
      for (const user of users.slice(0, demo.leaves)) emulator.leave(CHANNEL, user);
    }
  });
  for (let i = 0; i < UNATTRIBUTED_JOINS; i++) emulator.join(CHANNEL, nextUser++);
}
