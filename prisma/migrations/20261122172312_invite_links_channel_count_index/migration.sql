-- CreateIndex
CREATE INDEX "invite_links_channel_id_idx" ON "invite_links"("channel_id");
