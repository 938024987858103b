-- CreateEnum
CREATE TYPE "MemberEventKind" AS ENUM ('JOINED', 'LEFT', 'JOIN_REQUESTED', 'JOIN_REQUEST_APPROVED', 'JOIN_REQUEST_DECLINED');

-- CreateEnum
CREATE TYPE "JoinRequestStatus" AS ENUM ('PENDING', 'APPROVED', 'DECLINED');

-- AlterTable
ALTER TABLE "channels" ADD COLUMN     "bot_status_update_id" BIGINT;

-- CreateTable
CREATE TABLE "invite_link_stats" (
    "invite_link_id" UUID NOT NULL,
    "channel_id" UUID NOT NULL,
    "budget" INTEGER NOT NULL DEFAULT 0,
    "joins" INTEGER NOT NULL DEFAULT 0,
    "leaves" INTEGER NOT NULL DEFAULT 0,
    "subscribers" INTEGER NOT NULL DEFAULT 0,
    "pending_join_requests" INTEGER NOT NULL DEFAULT 0,
    "cost_per_join" DOUBLE PRECISION,
    "cost_per_subscriber" DOUBLE PRECISION,

    CONSTRAINT "invite_link_stats_pkey" PRIMARY KEY ("invite_link_id")
);

-- CreateTable
CREATE TABLE "member_events" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "channel_id" UUID NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "kind" "MemberEventKind" NOT NULL,
    "invite_link_id" UUID,
    "via_join_request" BOOLEAN NOT NULL DEFAULT false,
    "inferred" BOOLEAN NOT NULL DEFAULT false,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "update_id" BIGINT,
    "join_request_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "member_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "join_requests" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "channel_id" UUID NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "invite_link_id" UUID,
    "status" "JoinRequestStatus" NOT NULL DEFAULT 'PENDING',
    "requested_at" TIMESTAMPTZ(3) NOT NULL,
    "decided_at" TIMESTAMPTZ(3),
    "update_id" BIGINT NOT NULL,

    CONSTRAINT "join_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "invite_link_stats_channel_id_joins_idx" ON "invite_link_stats"("channel_id", "joins");

-- CreateIndex
CREATE INDEX "invite_link_stats_channel_id_subscribers_idx" ON "invite_link_stats"("channel_id", "subscribers");

-- CreateIndex
CREATE INDEX "invite_link_stats_channel_id_cost_per_subscriber_idx" ON "invite_link_stats"("channel_id", "cost_per_subscriber");

-- CreateIndex
CREATE INDEX "member_events_channel_id_at_id_idx" ON "member_events"("channel_id", "at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "member_events_invite_link_id_at_id_idx" ON "member_events"("invite_link_id", "at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "member_events_chat_id_user_id_idx" ON "member_events"("chat_id", "user_id");

-- CreateIndex
CREATE UNIQUE INDEX "member_events_update_id_kind_key" ON "member_events"("update_id", "kind");

-- CreateIndex
CREATE UNIQUE INDEX "member_events_join_request_id_kind_key" ON "member_events"("join_request_id", "kind");

-- CreateIndex
CREATE UNIQUE INDEX "join_requests_update_id_key" ON "join_requests"("update_id");

-- CreateIndex
CREATE INDEX "join_requests_channel_id_status_requested_at_id_idx" ON "join_requests"("channel_id", "status", "requested_at", "id");

-- CreateIndex
CREATE INDEX "join_requests_invite_link_id_idx" ON "join_requests"("invite_link_id");

-- CreateIndex
CREATE UNIQUE INDEX "join_requests_pending_key" ON "join_requests"("chat_id", "user_id") WHERE (status = 'PENDING');

-- AddForeignKey
ALTER TABLE "invite_link_stats" ADD CONSTRAINT "invite_link_stats_invite_link_id_fkey" FOREIGN KEY ("invite_link_id") REFERENCES "invite_links"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member_events" ADD CONSTRAINT "member_events_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member_events" ADD CONSTRAINT "member_events_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member_events" ADD CONSTRAINT "member_events_invite_link_id_fkey" FOREIGN KEY ("invite_link_id") REFERENCES "invite_links"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "member_events" ADD CONSTRAINT "member_events_join_request_id_fkey" FOREIGN KEY ("join_request_id") REFERENCES "join_requests"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "join_requests" ADD CONSTRAINT "join_requests_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "join_requests" ADD CONSTRAINT "join_requests_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "join_requests" ADD CONSTRAINT "join_requests_invite_link_id_fkey" FOREIGN KEY ("invite_link_id") REFERENCES "invite_links"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- invite_link_stats: subscribers and the costs follow from the counters and the budget, in one place.
CREATE FUNCTION "invite_link_stats_derive"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."subscribers" := NEW."joins" - NEW."leaves";
  NEW."cost_per_join" := CASE WHEN NEW."joins" > 0 THEN NEW."budget"::float8 / NEW."joins" END;
  NEW."cost_per_subscriber" := CASE WHEN NEW."subscribers" > 0 THEN NEW."budget"::float8 / NEW."subscribers" END;
  RETURN NEW;
END
$$;
CREATE TRIGGER "invite_link_stats_derived" BEFORE INSERT OR UPDATE ON "invite_link_stats"
  FOR EACH ROW EXECUTE FUNCTION "invite_link_stats_derive"();

-- A stats row per link, from its insert; the budget copied whenever it changes.
CREATE FUNCTION "invite_links_add_stats"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "invite_link_stats" ("invite_link_id", "channel_id", "budget")
  SELECT "id", "channel_id", "budget" FROM "added_links";
  RETURN NULL;
END
$$;
CREATE TRIGGER "invite_links_inserted_stats" AFTER INSERT ON "invite_links"
  REFERENCING NEW TABLE AS "added_links" FOR EACH STATEMENT EXECUTE FUNCTION "invite_links_add_stats"();

CREATE FUNCTION "invite_links_copy_budget"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "invite_link_stats" SET "budget" = NEW."budget" WHERE "invite_link_id" = NEW."id";
  RETURN NULL;
END
$$;
CREATE TRIGGER "invite_links_budget_stats" AFTER UPDATE OF "budget" ON "invite_links"
  FOR EACH ROW WHEN (OLD."budget" IS DISTINCT FROM NEW."budget") EXECUTE FUNCTION "invite_links_copy_budget"();

INSERT INTO "invite_link_stats" ("invite_link_id", "channel_id", "budget") SELECT "id", "channel_id", "budget" FROM "invite_links";

-- Joins and leaves per link, from member_events; pending requests per link, from join_requests.
-- Statement triggers: one update per link per statement. Each branch reads only the transition
-- tables its operation has.
CREATE FUNCTION "invite_link_stats_add"("deltas" jsonb) RETURNS void LANGUAGE sql AS $$
  UPDATE "invite_link_stats" s
  SET "joins" = s."joins" + p."joins", "leaves" = s."leaves" + p."leaves",
      "pending_join_requests" = s."pending_join_requests" + p."pending"
  FROM (
    SELECT (d->>'link')::uuid AS "link", sum((d->>'joins')::int) AS "joins", sum((d->>'leaves')::int) AS "leaves",
           sum((d->>'pending')::int) AS "pending"
    FROM jsonb_array_elements("deltas") d GROUP BY 1
  ) p
  WHERE s."invite_link_id" = p."link" AND (p."joins" <> 0 OR p."leaves" <> 0 OR p."pending" <> 0)
$$;

CREATE FUNCTION "member_events_count"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE "deltas" jsonb := '[]';
BEGIN
  IF TG_OP <> 'DELETE' THEN
    "deltas" := "deltas" || (SELECT coalesce(jsonb_agg(jsonb_build_object('link', "invite_link_id",
      'joins', ("kind" = 'JOINED')::int, 'leaves', ("kind" = 'LEFT')::int, 'pending', 0)), '[]')
      FROM "added_events" WHERE "invite_link_id" IS NOT NULL AND "kind" IN ('JOINED', 'LEFT'));
  END IF;
  IF TG_OP <> 'INSERT' THEN
    "deltas" := "deltas" || (SELECT coalesce(jsonb_agg(jsonb_build_object('link', "invite_link_id",
      'joins', -("kind" = 'JOINED')::int, 'leaves', -("kind" = 'LEFT')::int, 'pending', 0)), '[]')
      FROM "removed_events" WHERE "invite_link_id" IS NOT NULL AND "kind" IN ('JOINED', 'LEFT'));
  END IF;
  PERFORM "invite_link_stats_add"("deltas");
  RETURN NULL;
END
$$;
CREATE TRIGGER "member_events_inserted_count" AFTER INSERT ON "member_events"
  REFERENCING NEW TABLE AS "added_events" FOR EACH STATEMENT EXECUTE FUNCTION "member_events_count"();
CREATE TRIGGER "member_events_updated_count" AFTER UPDATE ON "member_events"
  REFERENCING OLD TABLE AS "removed_events" NEW TABLE AS "added_events" FOR EACH STATEMENT EXECUTE FUNCTION "member_events_count"();
CREATE TRIGGER "member_events_deleted_count" AFTER DELETE ON "member_events"
  REFERENCING OLD TABLE AS "removed_events" FOR EACH STATEMENT EXECUTE FUNCTION "member_events_count"();

CREATE FUNCTION "join_requests_count"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE "deltas" jsonb := '[]';
BEGIN
  IF TG_OP <> 'DELETE' THEN
    "deltas" := "deltas" || (SELECT coalesce(jsonb_agg(jsonb_build_object('link', "invite_link_id", 'joins', 0, 'leaves', 0, 'pending', 1)), '[]')
      FROM "added_requests" WHERE "invite_link_id" IS NOT NULL AND "status" = 'PENDING');
  END IF;
  IF TG_OP <> 'INSERT' THEN
    "deltas" := "deltas" || (SELECT coalesce(jsonb_agg(jsonb_build_object('link', "invite_link_id", 'joins', 0, 'leaves', 0, 'pending', -1)), '[]')
      FROM "removed_requests" WHERE "invite_link_id" IS NOT NULL AND "status" = 'PENDING');
  END IF;
  PERFORM "invite_link_stats_add"("deltas");
  RETURN NULL;
END
$$;
CREATE TRIGGER "join_requests_inserted_count" AFTER INSERT ON "join_requests"
  REFERENCING NEW TABLE AS "added_requests" FOR EACH STATEMENT EXECUTE FUNCTION "join_requests_count"();
CREATE TRIGGER "join_requests_updated_count" AFTER UPDATE ON "join_requests"
  REFERENCING OLD TABLE AS "removed_requests" NEW TABLE AS "added_requests" FOR EACH STATEMENT EXECUTE FUNCTION "join_requests_count"();
CREATE TRIGGER "join_requests_deleted_count" AFTER DELETE ON "join_requests"
  REFERENCING OLD TABLE AS "removed_requests" FOR EACH STATEMENT EXECUTE FUNCTION "join_requests_count"();

