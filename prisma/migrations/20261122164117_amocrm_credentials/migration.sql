-- CreateTable
CREATE TABLE "amocrm_credentials" (
    "base_url" TEXT NOT NULL,
    "access_token_encrypted" TEXT NOT NULL,
    "refresh_token_encrypted" TEXT,
    "access_token_expires_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "amocrm_credentials_pkey" PRIMARY KEY ("base_url")
);
