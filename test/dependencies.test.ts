import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lockfile = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

/** Pinned by prisma itself (prisma → @prisma/dev); README, "Troubleshooting", documents its one warning. */
const KNOWN_NODE_22_ONLY = new Set(['node_modules/@prisma/streams-local']);

describe('installed packages', () => {
  it("all run on the oldest Node that package.json's engines accept (npm install prints no EBADENGINE but prisma's own)", () => {
    const oldestNode = semver.minVersion(manifest.engines.node)!.version;
    const refusing = Object.entries(lockfile.packages)
      .filter(([location]) => location !== '' && !KNOWN_NODE_22_ONLY.has(location))
      .filter(([, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range !== undefined && !semver.satisfies(oldestNode, range);
      })
      .map(([location, entry]) => `${location}@${entry.version} wants node ${(entry.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
  });
});
