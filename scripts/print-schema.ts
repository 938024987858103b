// npm run schema:print: writes schema.graphql from the Pothos schema.
import { writeFileSync } from 'node:fs';
import { loadConfig } from '../src/config.ts';
import { printSchemaFile } from '../src/schema/print.ts';

writeFileSync('schema.graphql', printSchemaFile(loadConfig()));
console.log('wrote schema.graphql');
