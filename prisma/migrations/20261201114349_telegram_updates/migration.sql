-- CreateTable
CREATE TABLE "telegram_updates" (
    "update_id" BIGINT NOT NULL,
    "kind" TEXT NOT NULL,
    "chat_id" BIGINT,
    "user_id" BIGINT,
    "payload" JSONB NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),

    CONSTRAINT "telegram_updates_pkey" PRIMARY KEY ("update_id")
);

-- CreateIndex
CREATE INDEX "telegram_updates_unprocessed_idx" ON "telegram_updates"("update_id") WHERE (processed_at IS NULL);

-- CreateIndex
CREATE INDEX "telegram_updates_chat_id_idx" ON "telegram_updates"("chat_id");
