// npx tsx bench/yoga-alone.ts
//
// What graphql-yoga alone costs for the benchmark's default page: the same selection, executed over
// a page held in memory (no database, no Pothos, no Prisma), driven like `npm run bench` drives
// the servers. A scale for the GraphQL/floor ratio, not part of it.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { closeServer, listen } from './floor.ts';
import { runLoad } from './load.ts';
import { PAGE_SELECTION, PAGE_SIZE } from './queries.ts';

const items = Array.from({ length: PAGE_SIZE }, (_, i) => ({
  id: `01937f3a-0000-7000-8000-${String(i).padStart(12, '0')}`,
  name: `Spring sale Sport ${i}`,
  inviteLink: `https://t.me/+yogaAlone${i}`,
  budget: i * 100,
  createdAt: new Date(Date.UTC(2026, 10, 22, 12, i)).toISOString(),
  channel: { title: 'Benchmark channel' },
  tags: [
    { name: 'Bloggers', color: '#FFAA00', type: { name: 'Source' } },
    { name: 'Moscow', color: '#00AAFF', type: null },
  ],
}));

const yoga = createYoga({
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Query {
        inviteLinks(channelId: Int!, limit: Int): Page!
      }
      type Page {
        total: Int!
        items: [Link!]!
      }
      type Link {
        id: ID!
        name: String!
        inviteLink: String!
        budget: Int!
        createdAt: String!
        channel: Channel!
        tags: [Tag!]!
      }
      type Channel {
        title: String!
      }
      type Tag {
        name: String!
        color: String!
        type: TagType
      }
      type TagType {
        name: String!
      }
    `,
    resolvers: { Query: { inviteLinks: async () => ({ total: 100_000, items }) } },
  }),
  logging: false,
});

const server = createServer(yoga);
const url = await listen(server);
const body = JSON.stringify({
  query: `query($channelId: Int!) { inviteLinks(channelId: $channelId, limit: ${PAGE_SIZE}) {${PAGE_SELECTION} } }`,
  variables: { channelId: 1 },
});
await runLoad({ url, body, connections: 10, duration: 2 });
const result = await runLoad({ url, body, connections: 10, duration: 10 });
console.log(
  `yoga alone, default page from memory: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`,
);
await closeServer(server);
