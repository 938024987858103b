import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const checker = '../shared/tools/check-contract.mjs';

describe('public contract', () => {
  it.skipIf(!existsSync(checker))('schema.graphql honours ../shared/api/contract.graphql', () => {
    const output = execFileSync('node', [checker, 'schema.graphql'], { encoding: 'utf8' });
    expect(output.trim().split('\n').at(-1)).toBe('contract: honoured');
  });
});
