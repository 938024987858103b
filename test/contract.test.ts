import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { skipUnless } from './support/skip.ts';

const checker = '../shared/tools/check-contract.mjs';
const checkerMissing = skipUnless(
  existsSync(checker),
  'the public contract check',
  `${checker} is absent (the project's ../shared folder)`,
);

describe('public contract', () => {
  it.skipIf(checkerMissing)('schema.graphql honours ../shared/api/contract.graphql and its join-tracking part, joins.graphql', () => {
    const output = execFileSync('node', [checker, 'schema.graphql', '../shared/api/joins.graphql'], { encoding: 'utf8' });
    expect(output.trim().split('\n').at(-1)).toBe('contract: honoured');
  });
});
