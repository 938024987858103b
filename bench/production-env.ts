// Imported first by bench/run.ts. Some modules read NODE_ENV once, when they load (graphql-js's
// instanceOf check, Pothos's onUnusedQuery in src/schema/builder.ts), so it must be set before
// anything from src/ is imported. The bench measures the server as deployed: NODE_ENV=production,
// unless NODE_ENV is set explicitly.
process.env.NODE_ENV ??= 'production';
