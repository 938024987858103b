-- CreateEnum
CREATE TYPE "InviteLinkKind" AS ENUM ('REGULAR', 'SUBSCRIPTION');

-- CreateEnum
CREATE TYPE "ShortLinkEntityType" AS ENUM ('CONTACTS');

-- CreateTable
CREATE TABLE "accounts" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "partner_id" UUID,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "partners" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "external_id" INTEGER NOT NULL,
    "title" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "partners_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "channels" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "telegram_id" BIGINT NOT NULL,
    "title" TEXT NOT NULL,
    "username" TEXT,
    "bot_is_admin" BOOLEAN NOT NULL DEFAULT false,
    "bot_can_invite_users" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3),

    CONSTRAINT "channels_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invite_links" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "channel_id" UUID NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "name" TEXT NOT NULL,
    "invite_link" TEXT NOT NULL,
    "kind" "InviteLinkKind" NOT NULL DEFAULT 'REGULAR',
    "creates_join_request" BOOLEAN NOT NULL DEFAULT false,
    "expire_date" TIMESTAMPTZ(3),
    "member_limit" INTEGER,
    "subscription_period" INTEGER,
    "subscription_price" INTEGER,
    "is_revoked" BOOLEAN NOT NULL DEFAULT false,
    "is_bot_created" BOOLEAN NOT NULL DEFAULT true,
    "creator_id" BIGINT,
    "partner_id" UUID,
    "budget" INTEGER NOT NULL DEFAULT 0,
    "idempotency_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3),

    CONSTRAINT "invite_links_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tag_types" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tag_types_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tags" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "type_id" UUID,
    "name" TEXT NOT NULL,
    "color" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tags_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invite_link_tags" (
    "invite_link_id" UUID NOT NULL,
    "tag_id" UUID NOT NULL,

    CONSTRAINT "invite_link_tags_pkey" PRIMARY KEY ("invite_link_id","tag_id")
);

-- CreateTable
CREATE TABLE "short_links" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "invite_link_id" UUID,
    "url" TEXT NOT NULL,
    "target_url" TEXT NOT NULL,
    "amo_account_id" INTEGER NOT NULL,
    "entity_type" "ShortLinkEntityType" NOT NULL DEFAULT 'CONTACTS',
    "entity_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "short_links_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_account_id_idx" ON "api_tokens"("account_id");

-- CreateIndex
CREATE UNIQUE INDEX "partners_account_id_external_id_key" ON "partners"("account_id", "external_id");

-- CreateIndex
CREATE UNIQUE INDEX "channels_account_id_telegram_id_key" ON "channels"("account_id", "telegram_id");

-- CreateIndex
CREATE UNIQUE INDEX "invite_links_invite_link_key" ON "invite_links"("invite_link");

-- CreateIndex
CREATE INDEX "invite_links_channel_id_created_at_id_idx" ON "invite_links"("channel_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "invite_links_channel_id_partner_id_created_at_idx" ON "invite_links"("channel_id", "partner_id", "created_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "invite_links_account_id_idempotency_key_key" ON "invite_links"("account_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "tag_types_account_id_name_key" ON "tag_types"("account_id", "name");

-- CreateIndex
CREATE INDEX "tags_account_id_idx" ON "tags"("account_id");

-- CreateIndex
CREATE INDEX "tags_type_id_idx" ON "tags"("type_id");

-- CreateIndex
CREATE INDEX "invite_link_tags_tag_id_invite_link_id_idx" ON "invite_link_tags"("tag_id", "invite_link_id");

-- CreateIndex
CREATE INDEX "short_links_account_id_idx" ON "short_links"("account_id");

-- CreateIndex
CREATE INDEX "short_links_invite_link_id_idx" ON "short_links"("invite_link_id");

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "partners" ADD CONSTRAINT "partners_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "channels" ADD CONSTRAINT "channels_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invite_links" ADD CONSTRAINT "invite_links_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invite_links" ADD CONSTRAINT "invite_links_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invite_links" ADD CONSTRAINT "invite_links_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tag_types" ADD CONSTRAINT "tag_types_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tags" ADD CONSTRAINT "tags_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tags" ADD CONSTRAINT "tags_type_id_fkey" FOREIGN KEY ("type_id") REFERENCES "tag_types"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invite_link_tags" ADD CONSTRAINT "invite_link_tags_invite_link_id_fkey" FOREIGN KEY ("invite_link_id") REFERENCES "invite_links"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invite_link_tags" ADD CONSTRAINT "invite_link_tags_tag_id_fkey" FOREIGN KEY ("tag_id") REFERENCES "tags"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "short_links" ADD CONSTRAINT "short_links_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "short_links" ADD CONSTRAINT "short_links_invite_link_id_fkey" FOREIGN KEY ("invite_link_id") REFERENCES "invite_links"("id") ON DELETE SET NULL ON UPDATE CASCADE;
