-- CreateEnum
CREATE TYPE "ChannelStatus" AS ENUM ('PENDING', 'VERIFIED', 'SUPERSEDED');

-- AlterTable
ALTER TABLE "channels" ADD COLUMN     "status" "ChannelStatus" NOT NULL DEFAULT 'PENDING',
ADD COLUMN     "verification_code" TEXT,
ADD COLUMN     "verification_expires_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE UNIQUE INDEX "channels_verified_telegram_id_key" ON "channels"("telegram_id") WHERE (status = 'VERIFIED');

-- Hand-written from here (data, not schema).
--
-- Channel ownership: a Telegram chat belongs to at most one account (the partial unique index
-- above), and a new connection is PENDING until its owner proves control (verifyChannel).
-- Channels connected before this migration count as verified, except where several accounts hold
-- one chat: the earliest connection (created_at, then id) keeps it, VERIFIED; every later one
-- becomes SUPERSEDED, read-only: its links still list, but cannot be created, edited or revoked
-- (CONFLICT, reason CHANNEL_CONNECTED_ELSEWHERE). Nothing is deleted.

UPDATE "channels" AS c
SET "status" = CASE WHEN c."id" = first."id" THEN 'VERIFIED'::"ChannelStatus" ELSE 'SUPERSEDED'::"ChannelStatus" END
FROM (
  SELECT DISTINCT ON ("telegram_id") "telegram_id", "id"
  FROM "channels"
  ORDER BY "telegram_id", "created_at", "id"
) AS first
WHERE c."telegram_id" = first."telegram_id";
