// Drives one HTTP endpoint with autocannon. The load generator runs in a worker thread, so the
// servers under test keep the main thread's event loop to themselves.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  /** Seconds. */
  duration: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** How long the load actually ran. */
  seconds: number;
  /**
   * Time the servers' event loop (the main thread; the load runs in a worker) was not waiting for
   * I/O, per request: its own work, and any time the OS gave the CPU to another process meanwhile.
   */
  loopBusyMsPerRequest: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const loopBefore = performance.eventLoopUtilization();
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.duration,
    workers: 1,
  });
  const failures = result.errors + result.timeouts + result.non2xx;
  if (failures > 0) {
    throw new Error(
      `${options.url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses ` +
        `out of ${result.requests.total}`,
    );
  }
  if (result.requests.total === 0) throw new Error(`${options.url}: no request completed`);
  const loop = performance.eventLoopUtilization(loopBefore);
  return {
    loopBusyMsPerRequest: loop.active / result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    seconds: result.duration,
  };
}
