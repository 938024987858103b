import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';

const tsx = path.resolve('node_modules/.bin/tsx');
const dataDirs: string[] = [];
afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function start(env: Record<string, string>) {
  const child = spawn(tsx, ['src/main.ts'], { env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

async function waitFor<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('npm start', () => {
  it('serves /healthz and an authenticated query from an empty data folder with no configuration', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'inviteql-start-'));
    dataDirs.push(dataDir);
    const server = start({ DATA_DIR: dataDir, PORT: '0' });
    try {
      const { stdout } = server.output();
      const banner = await waitFor(() => {
        const text = server.output().stdout;
        const url = /GraphiQL:\s+(\S+)/.exec(text)?.[1];
        const token = /Dev token:\s+(\S+)/.exec(text)?.[1];
        return url && token ? { url, token } : undefined;
      }, `the start-up banner (${stdout})`);
      expect(server.output().stdout).toMatch(/SANDBOX/);

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
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
    expect(server.output().stdout).toContain('"msg":"stopped"');
  }, 60_000);

  it.each([
    ['PORT', 'eighty', /^Invalid configuration: PORT="eighty"/],
    ['SANDBOX_TOKEN', 'iql_wrongwrongwrong', /^Invalid configuration: SANDBOX_TOKEN=\[redacted\]: must be iql_/],
  ])('exits non-zero with a one-line message naming a bad %s', async (variable, value, message) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'inviteql-start-'));
    dataDirs.push(dataDir);
    const server = start({ [variable]: value, DATA_DIR: dataDir });
    onTestFinished(() => void server.child.kill('SIGKILL'));
    expect(await server.exited).toBe(1);
    const { stdout, stderr } = server.output();
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
    if (variable === 'SANDBOX_TOKEN') expect(stdout + stderr).not.toContain(value);
  }, 30_000);
});
