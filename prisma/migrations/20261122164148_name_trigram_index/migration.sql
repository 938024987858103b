-- pg_trgm ships with PostgreSQL and with PGlite (loaded in src/db/pglite.ts).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateIndex
CREATE INDEX "invite_links_name_trgm_idx" ON "invite_links" USING GIN ("name" gin_trgm_ops);
