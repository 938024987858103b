-- AlterTable
ALTER TABLE "invite_links" ADD COLUMN     "revoke_requested_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "invite_links_revoke_requested_at_idx" ON "invite_links"("revoke_requested_at");
