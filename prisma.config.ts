import path from 'node:path';
import { defineConfig } from 'prisma/config';

// The CLI downloads a native schema engine first; these machines cannot reach it. Any existing file
// satisfies `generate`, `format` and `validate`; migrations run through scripts/migrate.ts instead.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.resolve('package.json');

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
