-- CreateIndex
CREATE INDEX "member_events_unattributed_idx" ON "member_events"("channel_id", "kind") WHERE (invite_link_id IS NULL);
