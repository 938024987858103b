import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, validate, visit, type GraphQLSchema } from 'graphql';

const operationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../operations');
export const partnerManifestPath = path.join(operationsDir, 'partner.json');

/** `sha256:<hex>` of a document's exact text: the GraphQL-over-HTTP persisted document id. */
export const documentId = (document: string) => `sha256:${createHash('sha256').update(document).digest('hex')}`;

const FRAGMENTS_FILE = 'fragments.graphql';

/** Whether the operation spreads any fragment (GraphQL refuses a document with an unused one). */
const spreadsFragment = (operation: string) => {
  let found = false;
  visit(parse(operation), { FragmentSpread: () => void (found = true) });
  return found;
};

/**
 * The partner manifest from operations/partner/*.graphql (each that spreads a fragment with
 * fragments.graphql appended): id → document. Every document must be valid against the schema, or
 * this throws naming the file.
 */
export function buildPartnerManifest(schema: GraphQLSchema): Record<string, string> {
  const dir = path.join(operationsDir, 'partner');
  const fragments = readFileSync(path.join(dir, FRAGMENTS_FILE), 'utf8');
  const manifest: Record<string, string> = {};
  const files = readdirSync(dir).filter((name) => name.endsWith('.graphql') && name !== FRAGMENTS_FILE);
  for (const file of files.sort()) {
    const operation = readFileSync(path.join(dir, file), 'utf8').trimEnd();
    const document = spreadsFragment(operation) ? `${operation}\n\n${fragments}` : `${operation}\n`;
    const errors = validate(schema, parse(document));
    if (errors.length) throw new Error(`${file}: ${errors.map((error) => error.message).join('; ')}`);
    manifest[documentId(document)] = document;
  }
  return manifest;
}

export function readPartnerManifest(): Record<string, string> {
  return JSON.parse(readFileSync(partnerManifestPath, 'utf8')) as Record<string, string>;
}
