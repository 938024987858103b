// npm run operations:build: writes operations/partner.json (persisted-operation id → document).
import { writeFileSync } from 'node:fs';
import { loadConfig } from '../src/config.ts';
import { buildSchema } from '../src/schema/index.ts';
import { buildPartnerManifest, partnerManifestPath } from '../src/http/persisted-operations.ts';

const manifest = buildPartnerManifest(buildSchema(loadConfig()));
writeFileSync(partnerManifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`wrote ${Object.keys(manifest).length} operations to operations/partner.json`);
