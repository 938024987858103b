// An optional CPU profile of the main thread (where the servers run; autocannon runs in a worker).
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export class CpuProfiler {
  private readonly session = new Session();
  private started = false;

  async start(): Promise<void> {
    if (!this.started) {
      this.session.connect();
      await this.session.post('Profiler.enable');
      await this.session.post('Profiler.setSamplingInterval', { interval: 500 });
      this.started = true;
    }
    await this.session.post('Profiler.start');
  }

  /** Stops, writes the .cpuprofile (open it in Chrome DevTools) and returns a short summary. */
  async stop(file: string): Promise<string> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
    return summarize(profile);
  }

  close(): void {
    if (this.started) this.session.disconnect();
  }
}

function owner(url: string): string {
  if (!url) return '(native/vm)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return 'node core';
  const src = url.indexOf('/src/');
  if (src >= 0)
    return `project ${url
      .slice(src + 1)
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  return url.split('/').slice(-2).join('/');
}

function summarize(profile: Profile): string {
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0) || 1;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const group = url ? owner(url) : functionName || '(anonymous)';
    byOwner.set(group, (byOwner.get(group) ?? 0) + hits);
    const fn = `${functionName || '(anonymous)'} ${url ? `${owner(url)}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  }
  const top = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, hits]) => `      ${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  return `    self time by owner:\n${top(byOwner, 10)}\n    top functions (self):\n${top(byFunction, 12)}`;
}
