-- CreateIndex
CREATE INDEX "telegram_updates_chat_id_user_id_update_id_idx" ON "telegram_updates"("chat_id", "user_id", "update_id");

-- A chat_member update's user is the member (new_chat_member.user), not whoever made the change (from).
UPDATE "telegram_updates" SET "user_id" = ("payload"->'chat_member'->'new_chat_member'->'user'->>'id')::bigint
WHERE "kind" = 'chat_member';
