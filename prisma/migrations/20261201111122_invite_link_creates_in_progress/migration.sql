-- CreateTable
CREATE TABLE "invite_link_creates_in_progress" (
    "account_id" UUID NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "invite_link_creates_in_progress_pkey" PRIMARY KEY ("account_id","idempotency_key")
);

-- AddForeignKey
ALTER TABLE "invite_link_creates_in_progress" ADD CONSTRAINT "invite_link_creates_in_progress_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
