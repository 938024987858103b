-- DropForeignKey
ALTER TABLE "invite_link_tags" DROP CONSTRAINT "invite_link_tags_invite_link_id_fkey";

-- AlterTable: existing rows take their link's channel before the column becomes NOT NULL.
ALTER TABLE "invite_link_tags" ADD COLUMN     "channel_id" UUID;
UPDATE "invite_link_tags" x SET "channel_id" = l."channel_id" FROM "invite_links" l WHERE l."id" = x."invite_link_id";
ALTER TABLE "invite_link_tags" ALTER COLUMN "channel_id" SET NOT NULL;

-- CreateIndex
CREATE INDEX "invite_link_tags_channel_id_tag_id_invite_link_id_idx" ON "invite_link_tags"("channel_id", "tag_id", "invite_link_id");

-- CreateIndex
CREATE UNIQUE INDEX "invite_links_id_channel_id_key" ON "invite_links"("id", "channel_id");

-- AddForeignKey
ALTER TABLE "invite_link_tags" ADD CONSTRAINT "invite_link_tags_invite_link_id_channel_id_fkey" FOREIGN KEY ("invite_link_id", "channel_id") REFERENCES "invite_links"("id", "channel_id") ON DELETE CASCADE ON UPDATE CASCADE;
