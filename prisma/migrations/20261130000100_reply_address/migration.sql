-- Where a reply to a message goes, for channels that send through an API (Twilio): written only by the
-- adapter from verified data (a signed webhook). It used to be read from `metadata.twilio`, which any API
-- caller could set. Nothing is copied over from metadata: a forged value there cannot be told from a real one.

-- AlterTable
ALTER TABLE "messages" ADD COLUMN "reply_address" JSONB;
