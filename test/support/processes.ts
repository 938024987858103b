import { spawn } from 'node:child_process';
import path from 'node:path';

const tsx = path.resolve('node_modules/.bin/tsx');

export interface RunningProcess {
  child: ReturnType<typeof spawn>;
  exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
}

/** A TypeScript entry point (src/main.ts, scripts/*.ts) as its own process, with only PATH and `env`. */
export function runTsx(script: string, args: string[], env: Record<string, string>): RunningProcess {
  const child = spawn(tsx, [script, ...args], { env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

export const startServer = (env: Record<string, string>) => runTsx('src/main.ts', [], env);

export async function waitFor<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The GraphiQL address and dev token a sandbox server prints once it listens. */
export function banner(server: RunningProcess): { url: string; token: string } | undefined {
  const text = server.output().stdout;
  const url = /GraphiQL:\s+(\S+)/.exec(text)?.[1];
  const token = /Dev token:\s+(\S+)/.exec(text)?.[1];
  return url && token ? { url, token } : undefined;
}
