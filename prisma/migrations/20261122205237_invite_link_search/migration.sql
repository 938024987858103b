-- CreateTable
CREATE TABLE "invite_link_search" (
    "invite_link_id" UUID NOT NULL,
    "channel_id" UUID NOT NULL,
    "name_lower" TEXT NOT NULL,
    "tag_ids" UUID[],

    CONSTRAINT "invite_link_search_pkey" PRIMARY KEY ("invite_link_id")
);

-- CreateIndex
CREATE INDEX "invite_link_search_name_lower_trgm_idx" ON "invite_link_search" USING GIN ("name_lower" gin_trgm_ops);

-- AddForeignKey
ALTER TABLE "invite_link_search" ADD CONSTRAINT "invite_link_search_invite_link_id_fkey" FOREIGN KEY ("invite_link_id") REFERENCES "invite_links"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written from here (Prisma does not model triggers; the drift check ignores them).
--
-- invite_link_search is derived from invite_links: one row per link with its channel, lowercased
-- name and sorted tag ids. A listing filtered by name counts its matches here (name_lower LIKE
-- lower(pattern), which is what ILIKE computes) instead of in invite_links: the rows are a fraction
-- of the width, and the names are lowercased once on write rather than on every count. Deleting a
-- link deletes its row through the foreign key; TRUNCATE invite_links needs CASCADE already.

INSERT INTO "invite_link_search" ("invite_link_id", "channel_id", "name_lower", "tag_ids")
SELECT "id", "channel_id", lower("name"), "tag_ids" FROM "invite_links";

CREATE FUNCTION "invite_link_search_sync"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "invite_link_search" ("invite_link_id", "channel_id", "name_lower", "tag_ids")
    SELECT "id", "channel_id", lower("name"), "tag_ids" FROM "added_links";
  ELSE
    -- Also after invite_link_tags' triggers rewrite invite_links.tag_ids.
    UPDATE "invite_link_search" s
       SET "channel_id" = a."channel_id", "name_lower" = lower(a."name"), "tag_ids" = a."tag_ids"
      FROM "added_links" a
     WHERE s."invite_link_id" = a."id"
       AND (s."channel_id", s."name_lower", s."tag_ids") IS DISTINCT FROM (a."channel_id", lower(a."name"), a."tag_ids");
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "invite_links_inserted_search" AFTER INSERT ON "invite_links"
  REFERENCING NEW TABLE AS "added_links" FOR EACH STATEMENT EXECUTE FUNCTION "invite_link_search_sync"();
CREATE TRIGGER "invite_links_updated_search" AFTER UPDATE ON "invite_links"
  REFERENCING NEW TABLE AS "added_links" FOR EACH STATEMENT EXECUTE FUNCTION "invite_link_search_sync"();
