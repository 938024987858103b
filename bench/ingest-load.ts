// The ingest line's updates and its load driver. The driver runs in a worker thread (the servers
// under test keep the main thread's event loop): `connections` keep-alive connections, each
// sending the next update of the sequence as soon as its previous request is answered, so every
// request is a distinct update and exactly `count` are sent.
import { request, Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** What the sequence of updates is made of: update i is a pure function of the spec and i. */
export interface IngestSpec {
  chatId: number;
  chatTitle: string;
  firstUpdateId: number;
  firstUserId: number;
  /** Unix seconds of the first update. */
  date: number;
  /** The account's links in the chat, as the bot sees them (it created them). */
  linkUrls: string[];
  bot: { id: number; username: string };
}

/**
 * Updates come in blocks of ten, Telegram's ChatMemberUpdated shape (field order as telegram-bot-api
 * writes it):
 *  0-4 join through one of the account's links (attributed), each a new user;
 *  5   join with no invite_link (public username: unattributed);
 *  6   join through another admin's link, its tail hidden (unattributed);
 *  7-8 leave of the users of positions 0 and 1 (attributed to their links);
 *  9   leave of a user who joined before tracking began (unattributed).
 */
export function ingestUpdate(spec: IngestSpec, index: number): Record<string, unknown> {
  const block = Math.floor(index / 10);
  const position = index % 10;
  const leaves = position >= 7;
  const userId = spec.firstUserId + block * 10 + (position === 7 ? 0 : position === 8 ? 1 : position);
  const user = { id: userId, is_bot: false, first_name: `User ${userId}`, ...(userId % 3 === 0 ? { language_code: 'en' } : {}) };
  const member = (status: 'member' | 'left') => ({ user, status });
  const inviteLink =
    position < 5
      ? {
          invite_link: linkOf(spec, block, position),
          name: `Ad ${(block * 5 + position) % spec.linkUrls.length}`,
          creator: { id: spec.bot.id, is_bot: true, first_name: 'inviteql', username: spec.bot.username },
          creates_join_request: false,
          is_primary: false,
          is_revoked: false,
        }
      : position === 6
        ? {
            invite_link: 'https://t.me/+AbC...',
            creator: { id: 777_000_001, is_bot: false, first_name: 'Other admin' },
            creates_join_request: false,
            is_primary: false,
            is_revoked: false,
          }
        : undefined;
  return {
    update_id: spec.firstUpdateId + index,
    chat_member: {
      chat: { id: spec.chatId, title: spec.chatTitle, type: 'channel' },
      from: user,
      date: spec.date + Math.floor(index / 100),
      old_chat_member: member(leaves ? 'member' : 'left'),
      new_chat_member: member(leaves ? 'left' : 'member'),
      ...(inviteLink ? { invite_link: inviteLink } : {}),
    },
  };
}

function linkOf(spec: IngestSpec, block: number, position: number): string {
  return spec.linkUrls[(block * 5 + position) % spec.linkUrls.length]!;
}

/** What the first `count` updates must add to each link's counters (links absent: nothing). */
export function expectedLinkCounts(spec: IngestSpec, count: number): Map<string, { joins: number; leaves: number }> {
  const counts = new Map<string, { joins: number; leaves: number }>();
  const at = (url: string) => counts.get(url) ?? counts.set(url, { joins: 0, leaves: 0 }).get(url)!;
  for (let index = 0; index < count; index++) {
    const block = Math.floor(index / 10);
    const position = index % 10;
    if (position < 5) at(linkOf(spec, block, position)).joins++;
    // The leave's join (position 0 or 1 of the same block) is always among the sent.
    else if (position === 7 || position === 8) at(linkOf(spec, block, position - 7)).leaves++;
  }
  return counts;
}

/** Member events the first `count` updates derive, attributed or not. */
export function expectedEvents(count: number): { joined: number; left: number } {
  let joined = 0;
  let left = 0;
  for (let index = 0; index < count; index++) {
    if (index % 10 < 7) joined++;
    else left++;
  }
  return { joined, left };
}

export interface IngestLoadOptions {
  /** The full URL to POST to. */
  url: string;
  headers: Record<string, string>;
  spec: IngestSpec;
  /** Updates [first, first + count) of the spec's sequence. */
  first: number;
  count: number;
  connections: number;
}

export interface IngestLoadResult {
  requests: number;
  seconds: number;
  updatesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Sends the updates from a worker thread and answers once all are answered 200 (any other status fails it). */
export function runIngestLoad(options: IngestLoadOptions): Promise<IngestLoadResult> {
  const entry = new URL(import.meta.url).href;
  // tsx's loader is registered in this thread only: the worker registers it before loading this file.
  const worker = new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`, {
    eval: true,
    workerData: { ingestLoad: options },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (message: { result?: IngestLoadResult; error?: string }) => {
      void worker.terminate();
      if (message.result) resolve(message.result);
      else reject(new Error(message.error));
    });
    worker.once('error', reject);
  });
}

async function drive(options: IngestLoadOptions): Promise<IngestLoadResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies = new Float64Array(options.count);
  let next = 0;
  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...options.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const connection = async () => {
    while (next < options.count) {
      const index = next++;
      const body = JSON.stringify(ingestUpdate(options.spec, options.first + index));
      const started = performance.now();
      const { status, text } = await post(body);
      latencies[index] = performance.now() - started;
      if (status !== 200) throw new Error(`update ${options.first + index}: ${options.url} answered ${status}: ${text.slice(0, 300)}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.connections }, connection));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort();
  const percentile = (p: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1));
  return {
    requests: options.count,
    seconds: Number(seconds.toFixed(2)),
    updatesPerSecond: Number((options.count / seconds).toFixed(1)),
    p50Ms: percentile(0.5),
    p99Ms: percentile(0.99),
  };
}

if (!isMainThread && (workerData as { ingestLoad?: IngestLoadOptions } | null)?.ingestLoad) {
  drive((workerData as { ingestLoad: IngestLoadOptions }).ingestLoad).then(
    (result) => parentPort!.postMessage({ result }),
    (error: Error) => parentPort!.postMessage({ error: error.message }),
  );
}
