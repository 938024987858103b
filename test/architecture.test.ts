import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every .ts file under a folder, as paths relative to the project root. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.relative('.', path.join(entry.parentPath, entry.name)))
    .filter((file) => !file.startsWith(path.join('src', 'generated')))
    .sort();
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)|(?:^|\n)\s*import\s+'([^']+)'/g;

/** A file's imports: project files (resolved) and packages (bare names). */
function importsOf(file: string): { files: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const files: string[] = [];
  const packages: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3]!;
    if (specifier.startsWith('.')) files.push(path.normalize(path.join(path.dirname(file), specifier)));
    else packages.push(specifier);
  }
  return { files, packages };
}

const src = sourceFiles('src');
const graph = new Map(src.map((file) => [file, importsOf(file)]));
const folderOf = (file: string) => file.split(path.sep)[1]!;

function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of graph.get(file)?.files ?? []) {
      if (state.get(next) === 'visiting') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of src) if (!state.has(file)) visit(file);
  return found;
}

describe('architecture', () => {
  it('finds the source files it checks', () => {
    expect(src).toContain(path.join('src', 'http', 'server.ts'));
    expect(graph.get(path.join('src', 'http', 'server.ts'))!.files).toContain(path.join('src', 'schema', 'index.ts'));
  });

  it('has no import circles in src/', () => {
    expect(cycles()).toEqual([]);
  });

  it('imports run one way: http → schema → services → auth, adapters, db', () => {
    // What each room may not import.
    const forbidden: Record<string, { folders: string[]; packages: RegExp }> = {
      services: { folders: ['http', 'schema', 'sandbox'], packages: /^(graphql|graphql-yoga|@pothos\/|hono|@hono\/)/ },
      auth: { folders: ['http', 'schema', 'services', 'sandbox'], packages: /^(graphql|graphql-yoga|@pothos\/|hono|@hono\/)/ },
      adapters: { folders: ['http', 'schema', 'services', 'auth', 'sandbox'], packages: /^(graphql|graphql-yoga|@pothos\/|hono|@hono\/)/ },
      db: {
        folders: ['http', 'schema', 'services', 'auth', 'adapters', 'sandbox'],
        packages: /^(graphql|graphql-yoga|@pothos\/|hono|@hono\/)/,
      },
      schema: { folders: ['http'], packages: /^(graphql-yoga|hono|@hono\/)/ },
    };
    const violations: string[] = [];
    for (const [file, imports] of graph) {
      const rule = forbidden[folderOf(file)];
      if (!rule) continue;
      for (const target of imports.files) {
        if (target.startsWith(`src${path.sep}`) && rule.folders.includes(folderOf(target))) violations.push(`${file} → ${target}`);
      }
      for (const name of imports.packages) if (rule.packages.test(name)) violations.push(`${file} → ${name}`);
    }
    expect(violations).toEqual([]);
  });

  it('reads process.env only in the config loader', () => {
    const readers = src.filter((file) => /process\.env/.test(readFileSync(file, 'utf8')));
    expect(readers).toEqual([path.join('src', 'config.ts')]);
  });

  it('assembles the App only in buildApp: Telegram adapter, amoCRM client, token authenticator, rate limiter', () => {
    // Callers may bring their own database or emulator (AppParts); a unit test of one part may build that part.
    const assembly = /new (TelegramBotApiAdapter|TokenAuthenticator)\(|createRequestRateLimiter\(|connectAmoCrm\(/;
    const definitions = /export (async )?function (createRequestRateLimiter|connectAmoCrm)\(/g;
    const assemblers = [...src, ...sourceFiles('bench'), ...sourceFiles('scripts'), ...sourceFiles(path.join('test', 'support'))].filter(
      (file) => assembly.test(readFileSync(file, 'utf8').replace(definitions, '')),
    );
    expect(assemblers).toEqual([path.join('src', 'app.ts')]);
  });
});
