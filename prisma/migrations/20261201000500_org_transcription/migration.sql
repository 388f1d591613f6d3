-- An org's own transcription service for voice notes (issue #16), else the hub's TRANSCRIBE_*.

-- AlterTable
ALTER TABLE "orgs" ADD COLUMN "transcribe_base_url" TEXT,
ADD COLUMN "transcribe_model" TEXT,
ADD COLUMN "transcribe_api_key" TEXT;
