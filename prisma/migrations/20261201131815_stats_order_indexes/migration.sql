-- DropIndex
DROP INDEX "invite_link_stats_channel_id_cost_per_subscriber_idx";

-- DropIndex
DROP INDEX "invite_link_stats_channel_id_joins_idx";

-- DropIndex
DROP INDEX "invite_link_stats_channel_id_subscribers_idx";

-- CreateIndex
CREATE INDEX "invite_link_stats_channel_id_joins_invite_link_id_idx" ON "invite_link_stats"("channel_id", "joins", "invite_link_id");

-- CreateIndex
CREATE INDEX "invite_link_stats_channel_id_subscribers_invite_link_id_idx" ON "invite_link_stats"("channel_id", "subscribers", "invite_link_id");

-- CreateIndex
CREATE INDEX "invite_link_stats_channel_id_cost_per_subscriber_invite_lin_idx" ON "invite_link_stats"("channel_id", "cost_per_subscriber", "invite_link_id");
