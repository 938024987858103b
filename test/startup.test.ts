import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { banner as bannerOf, startServer as start, waitFor } from './support/processes.ts';

const dataDirs: string[] = [];

/**
 * Waits until the first start's demo history is counted: a newcomer's first query has numbers in it.
 * It also lets the start-up work end before a SIGTERM: tsx kills a child whose event loop does not
 * answer a relayed signal within 60 ms with SIGKILL (exit 143).
 */
async function demoHistoryCounted(banner: { url: string; token: string }): Promise<number> {
  for (let attempt = 0; attempt < 150; attempt++) {
    const response = await fetch(banner.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${banner.token}` },
      body: JSON.stringify({ query: '{ channelStats(channelId: -1001000000001) { joins leaves unattributedJoins } }' }),
    });
    const stats = (await response.json()).data?.channelStats;
    if (stats?.unattributedJoins > 0) return stats.joins;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the demo history was never counted');
}
afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('npm start', () => {
  it('serves /healthz and an authenticated query from an empty data folder with no configuration', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'inviteql-start-'));
    dataDirs.push(dataDir);
    const server = start({ DATA_DIR: dataDir, PORT: '0' });
    try {
      const { stdout } = server.output();
      const banner = await waitFor(() => bannerOf(server), `the start-up banner (${stdout})`);
      expect(server.output().stdout).toMatch(/SANDBOX/);
      expect(server.output().stdout).not.toContain('WARNING');

      const health = await fetch(new URL('/healthz', banner.url));
      expect(health.status).toBe(200);
      const ready = await fetch(new URL('/readyz', banner.url));
      expect(await ready.json()).toMatchObject({ status: 'ok' });

      const response = await fetch(banner.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${banner.token}` },
        body: JSON.stringify({ query: '{ __typename channels { telegramId } }' }),
      });
      const body = await response.json();
      expect(body.data.__typename).toBe('Query');
      expect(body.data.channels).toEqual([{ telegramId: -1001000000001 }]);

      const graphiql = await fetch(banner.url, { headers: { accept: 'text/html' } });
      expect(await graphiql.text()).toContain('graphiql');
      expect(await demoHistoryCounted(banner)).toBeGreaterThan(0);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
    expect(server.output().stdout).toContain('"msg":"stopped"');
  }, 60_000);

  it('warns in sandbox mode that the dev token is reachable when HOST is not loopback', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'inviteql-start-'));
    dataDirs.push(dataDir);
    const server = start({ DATA_DIR: dataDir, PORT: '0', HOST: '0.0.0.0' });
    try {
      const banner = await waitFor(() => (/Dev token:/.test(server.output().stdout) ? server.output().stdout : undefined), 'the banner');
      expect(banner).toMatch(
        /WARNING: +HOST=0\.0\.0\.0 is not loopback: anyone who reaches this port on the network can read the dev token/,
      );
      await demoHistoryCounted(bannerOf(server)!);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  }, 60_000);

  it.each([
    ['PORT', 'eighty', /^Invalid configuration: PORT="eighty"/],
    ['SANDBOX_TOKEN', 'iql_wrongwrongwrong', /^Invalid configuration: SANDBOX_TOKEN=\[redacted\]: must be iql_/],
  ])(
    'exits non-zero with a one-line message naming a bad %s',
    async (variable, value, message) => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'inviteql-start-'));
      dataDirs.push(dataDir);
      const server = start({ [variable]: value, DATA_DIR: dataDir });
      onTestFinished(() => void server.child.kill('SIGKILL'));
      expect(await server.exited).toBe(1);
      const { stdout, stderr } = server.output();
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(message);
      if (variable === 'SANDBOX_TOKEN') expect(stdout + stderr).not.toContain(value);
    },
    30_000,
  );
});
