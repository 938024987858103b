import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { skipUnless } from './support/skip.ts';

const testFiles = (readdirSync('test', { recursive: true }) as string[])
  .filter((file) => file.endsWith('.test.ts') && path.basename(file) !== 'skips.test.ts')
  .map((file) => path.join('test', file));

describe('skipped tests', () => {
  afterEach(() => vi.restoreAllMocks());

  it('skipUnless prints what is skipped and why, and prints nothing when the tests run', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(skipUnless(true, 'the browser test', 'no Chromium')).toBe(false);
    expect(warn).not.toHaveBeenCalled();
    expect(skipUnless(false, 'the browser test', 'no Chromium at /usr/bin/chromium')).toBe(true);
    expect(warn.mock.calls).toEqual([['skipped: the browser test (no Chromium at /usr/bin/chromium)']]);
  });

  it('every conditional skip in the suite goes through skipUnless, and nothing is skipped unconditionally', () => {
    const unexplained: string[] = [];
    for (const file of testFiles) {
      const source = readFileSync(file, 'utf8');
      const reasoned = new Set([...source.matchAll(/const (\w+) = skipUnless\(/g)].map((match) => match[1]!));
      for (const match of source.matchAll(/\.(skip|todo|runIf)\(|\.skipIf\(\s*([^)\s]*)/g)) {
        const argument = match[2];
        const explained = argument !== undefined && (argument.startsWith('skipUnless(') || reasoned.has(argument));
        if (!explained) unexplained.push(`${file}: ${match[0]}`);
      }
    }
    expect(testFiles.length).toBeGreaterThan(10);
    expect(unexplained).toEqual([]);
  });
});
