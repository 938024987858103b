-- DropIndex
DROP INDEX "invite_link_tags_channel_id_tag_id_invite_link_id_idx";

-- AlterTable
ALTER TABLE "invite_links" ADD COLUMN     "tag_ids" UUID[] DEFAULT ARRAY[]::UUID[];

-- CreateTable
CREATE TABLE "invite_link_tag_sets" (
    "channel_id" UUID NOT NULL,
    "tag_set_key" UUID NOT NULL,
    "tag_ids" UUID[],
    "link_count" INTEGER NOT NULL,

    CONSTRAINT "invite_link_tag_sets_pkey" PRIMARY KEY ("channel_id","tag_set_key")
);

-- CreateTable
CREATE TABLE "invite_link_tag_set_changes" (
    "txid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
    "channel_id" UUID NOT NULL,
    "tag_ids" UUID[],
    "delta" INTEGER NOT NULL
);

-- CreateIndex
CREATE INDEX "invite_link_tag_set_changes_txid_idx" ON "invite_link_tag_set_changes"("txid");

-- AddForeignKey
ALTER TABLE "invite_link_tag_sets" ADD CONSTRAINT "invite_link_tag_sets_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written from here (Prisma does not model functions or triggers; the drift check ignores
-- them). No CHECK (link_count >= 0): PostgreSQL checks the row an upsert would insert, a negative
-- change, before it finds the conflict.
--
-- A listing's total for a tag filter (or no filter) is a sum over invite_link_tag_sets: one row per
-- distinct set of tags a channel's links carry (keyed by an md5 of the sorted ids), with how many links carry exactly it. That is
-- O(distinct sets) instead of O(links). Two triggers keep it exact:
--   1. invite_links.tag_ids follows invite_link_tags (every insert, delete, update, truncate);
--   2. every change of a link's (channel_id, tag_ids), and every link inserted or deleted, records
--      a +1/-1 in invite_link_tag_set_changes under the transaction's id.
-- A deferred trigger applies a transaction's changes when it commits, in one statement, in key
-- order. Counter rows are therefore locked only at commit and always in the same order, so two
-- transactions retagging links never deadlock on them. Rows that fall to 0 are kept (a later link
-- may take that set again); they add nothing to a sum. Inside the writing transaction, before it
-- commits, the sums do not yet show its own changes.

-- Existing links: tag ids and the counters, before the triggers exist (the migration is one
-- transaction, and ALTER TABLE above holds invite_links exclusively until it commits).
UPDATE "invite_links" l SET "tag_ids" = s."tag_ids"
  FROM (SELECT "invite_link_id", array_agg("tag_id" ORDER BY "tag_id") AS "tag_ids" FROM "invite_link_tags" GROUP BY "invite_link_id") s
 WHERE l."id" = s."invite_link_id";
CREATE FUNCTION "invite_link_tag_set_key"("tag_ids" uuid[]) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT
  RETURN md5(array_to_string("tag_ids", ','))::uuid;

INSERT INTO "invite_link_tag_sets" ("channel_id", "tag_set_key", "tag_ids", "link_count")
SELECT "channel_id", "invite_link_tag_set_key"("tag_ids"), "tag_ids", count(*) FROM "invite_links" GROUP BY "channel_id", "tag_ids";

-- 1. invite_links.tag_ids: the sorted ids of the link's invite_link_tags rows.
CREATE FUNCTION "invite_link_tags_sync_link"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE "invite_links" SET "tag_ids" = '{}' WHERE "tag_ids" <> '{}';
    RETURN NULL;
  END IF;
  -- Lock the links first: the UPDATE below then reads their rows with a snapshot taken after any
  -- other transaction tagging the same link has committed (READ COMMITTED takes one per statement).
  PERFORM 1 FROM "invite_links" WHERE "id" IN (SELECT "invite_link_id" FROM "changed_tags") ORDER BY "id" FOR NO KEY UPDATE;
  UPDATE "invite_links" l SET "tag_ids" = fresh."tag_ids"
    FROM (
      SELECT c."invite_link_id",
             coalesce((SELECT array_agg(x."tag_id" ORDER BY x."tag_id") FROM "invite_link_tags" x
                        WHERE x."invite_link_id" = c."invite_link_id"), '{}') AS "tag_ids"
        FROM (SELECT DISTINCT "invite_link_id" FROM "changed_tags") c
    ) fresh
   WHERE l."id" = fresh."invite_link_id" AND l."tag_ids" IS DISTINCT FROM fresh."tag_ids";
  RETURN NULL;
END
$$;

CREATE TRIGGER "invite_link_tags_inserted" AFTER INSERT ON "invite_link_tags"
  REFERENCING NEW TABLE AS "changed_tags" FOR EACH STATEMENT EXECUTE FUNCTION "invite_link_tags_sync_link"();
CREATE TRIGGER "invite_link_tags_deleted" AFTER DELETE ON "invite_link_tags"
  REFERENCING OLD TABLE AS "changed_tags" FOR EACH STATEMENT EXECUTE FUNCTION "invite_link_tags_sync_link"();
-- An update can move a row from one link to another: both links are synced.
CREATE TRIGGER "invite_link_tags_updated_from" AFTER UPDATE ON "invite_link_tags"
  REFERENCING OLD TABLE AS "changed_tags" FOR EACH STATEMENT EXECUTE FUNCTION "invite_link_tags_sync_link"();
CREATE TRIGGER "invite_link_tags_updated_to" AFTER UPDATE ON "invite_link_tags"
  REFERENCING NEW TABLE AS "changed_tags" FOR EACH STATEMENT EXECUTE FUNCTION "invite_link_tags_sync_link"();
CREATE TRIGGER "invite_link_tags_truncated" AFTER TRUNCATE ON "invite_link_tags"
  FOR EACH STATEMENT EXECUTE FUNCTION "invite_link_tags_sync_link"();

-- tag_ids is derived: a statement of its own (trigger depth 1) may not set it.
CREATE FUNCTION "invite_links_guard_tag_ids"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() = 1 AND NEW."tag_ids" IS DISTINCT FROM
     (CASE WHEN TG_OP = 'INSERT' THEN '{}'::uuid[] ELSE OLD."tag_ids" END) THEN
    RAISE EXCEPTION 'invite_links.tag_ids is derived from invite_link_tags; change those rows instead'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "invite_links_guard_tag_ids" BEFORE INSERT OR UPDATE OF "tag_ids" ON "invite_links"
  FOR EACH ROW EXECUTE FUNCTION "invite_links_guard_tag_ids"();

-- 2. The +1/-1 of every link that enters or leaves a (channel, tag set).
CREATE FUNCTION "invite_links_record_tag_set_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM "invite_link_tag_set_changes" WHERE "txid" = pg_current_xact_id();
    DELETE FROM "invite_link_tag_sets";
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO "invite_link_tag_set_changes" ("channel_id", "tag_ids", "delta")
    SELECT "channel_id", "tag_ids", count(*) FROM "added_links" GROUP BY "channel_id", "tag_ids";
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "invite_link_tag_set_changes" ("channel_id", "tag_ids", "delta")
    SELECT "channel_id", "tag_ids", -count(*) FROM "removed_links" GROUP BY "channel_id", "tag_ids";
  ELSE
    INSERT INTO "invite_link_tag_set_changes" ("channel_id", "tag_ids", "delta")
    SELECT "channel_id", "tag_ids", sum("delta") FROM (
      SELECT "channel_id", "tag_ids", 1 AS "delta" FROM "added_links"
      UNION ALL
      SELECT "channel_id", "tag_ids", -1 FROM "removed_links"
    ) moved
    GROUP BY "channel_id", "tag_ids" HAVING sum("delta") <> 0;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "invite_links_inserted_tag_sets" AFTER INSERT ON "invite_links"
  REFERENCING NEW TABLE AS "added_links" FOR EACH STATEMENT EXECUTE FUNCTION "invite_links_record_tag_set_changes"();
CREATE TRIGGER "invite_links_deleted_tag_sets" AFTER DELETE ON "invite_links"
  REFERENCING OLD TABLE AS "removed_links" FOR EACH STATEMENT EXECUTE FUNCTION "invite_links_record_tag_set_changes"();
CREATE TRIGGER "invite_links_updated_tag_sets" AFTER UPDATE ON "invite_links"
  REFERENCING OLD TABLE AS "removed_links" NEW TABLE AS "added_links"
  FOR EACH STATEMENT EXECUTE FUNCTION "invite_links_record_tag_set_changes"();
CREATE TRIGGER "invite_links_truncated_tag_sets" AFTER TRUNCATE ON "invite_links"
  FOR EACH STATEMENT EXECUTE FUNCTION "invite_links_record_tag_set_changes"();

-- 3. At commit: the transaction's changes, summed per key, applied in key order.
CREATE FUNCTION "invite_link_tag_sets_apply_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH drained AS (
    DELETE FROM "invite_link_tag_set_changes" WHERE "txid" = pg_current_xact_id()
    RETURNING "channel_id", "tag_ids", "delta"
  )
  INSERT INTO "invite_link_tag_sets" AS s ("channel_id", "tag_set_key", "tag_ids", "link_count")
  SELECT "channel_id", "invite_link_tag_set_key"("tag_ids"), "tag_ids", sum("delta") FROM drained
   -- A channel deleted in this transaction took its counters with it.
   WHERE EXISTS (SELECT FROM "channels" c WHERE c."id" = drained."channel_id")
   GROUP BY "channel_id", "tag_ids" HAVING sum("delta") <> 0
   ORDER BY 1, 2
  ON CONFLICT ("channel_id", "tag_set_key") DO UPDATE SET "link_count" = s."link_count" + excluded."link_count";
  RETURN NULL;
END
$$;

-- Fires once per change row at commit; the first drains them all, the rest find nothing.
CREATE CONSTRAINT TRIGGER "invite_link_tag_set_changes_apply" AFTER INSERT ON "invite_link_tag_set_changes"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "invite_link_tag_sets_apply_changes"();
