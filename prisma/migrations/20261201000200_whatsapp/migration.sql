-- WhatsApp as people use it (issue #16): the re-engagement template a Twilio number sends when a reply
-- would fall outside WhatsApp's 24-hour window; replies held until the user writes again
-- (status 'awaiting_window'); an assistant's `vision` (its model reads images); media downloaded once.

-- AlterTable
ALTER TABLE "twilio_numbers" ADD COLUMN "reengagement_content_sid" TEXT,
ADD COLUMN "reengagement_variables" JSONB;

-- AlterTable
ALTER TABLE "assistants" ADD COLUMN "vision" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "messages_awaiting_window_idx" ON "messages"("conversation_id", "seq") WHERE status = 'awaiting_window';

-- CreateTable
CREATE TABLE "media" (
    "id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "content_type" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "media_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "media_message_id_position_key" ON "media"("message_id", "position");

-- AddForeignKey
ALTER TABLE "media" ADD CONSTRAINT "media_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
