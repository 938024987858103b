// npm run schema:print: writes schema.graphql from the Pothos schema.
import { writeFileSync } from 'node:fs';
import { printSchemaFile } from '../src/schema/print.ts';

writeFileSync('schema.graphql', printSchemaFile());
console.log('wrote schema.graphql');
