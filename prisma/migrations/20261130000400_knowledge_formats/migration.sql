-- Knowledge as businesses have it: files and web pages parsed by the ingest worker, passages that know where
-- they come from (heading, page, anchor) and which language they are written in.

-- A folder's language, when its owner knows it better than detection; its web pages' refresh interval.
ALTER TABLE "folders" ADD COLUMN "language" TEXT;
ALTER TABLE "folders" ADD COLUMN "refresh_minutes" INTEGER;

-- processing | ready | failed. Rows stored before this migration were indexed when stored.
ALTER TABLE "documents" ADD COLUMN "status" TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE "documents" ADD COLUMN "error" TEXT;
-- text | markdown | csv | html | pdf | docx | url
ALTER TABLE "documents" ADD COLUMN "format" TEXT NOT NULL DEFAULT 'text';
ALTER TABLE "documents" ADD COLUMN "file_name" TEXT;
ALTER TABLE "documents" ADD COLUMN "source_url" TEXT;
-- The upload as received, kept until it is indexed so that a crash mid-ingest can start again from it.
ALTER TABLE "documents" ADD COLUMN "original" BYTEA;
ALTER TABLE "documents" ADD COLUMN "language" TEXT;
-- sha256 of the parsed text: a refreshed page whose text did not change is not indexed again.
ALTER TABLE "documents" ADD COLUMN "content_hash" TEXT;
ALTER TABLE "documents" ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "documents" ADD COLUMN "fetched_at" TIMESTAMPTZ(3);
ALTER TABLE "documents" ADD COLUMN "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now();
CREATE INDEX "documents_processing_idx" ON "documents" ("updated_at") WHERE "status" = 'processing';

-- Where a passage sits, for citations.
ALTER TABLE "passages" ADD COLUMN "heading" TEXT;
ALTER TABLE "passages" ADD COLUMN "page" INTEGER;
ALTER TABLE "passages" ADD COLUMN "anchor" TEXT;
-- The text-search configuration it was indexed with ('english', 'german', ..., 'simple'). tsv is no longer
-- generated: the indexer computes it with this configuration (and unaccents the text for 'simple').
ALTER TABLE "passages" ADD COLUMN "ts_config" REGCONFIG NOT NULL DEFAULT 'english';
ALTER TABLE "passages" ADD COLUMN "embedding" REAL[];
DROP INDEX "passages_tsv_idx";
ALTER TABLE "passages" DROP COLUMN "tsv";
ALTER TABLE "passages" ADD COLUMN "tsv" TSVECTOR;
UPDATE "passages" SET "tsv" = to_tsvector('english', "content");
CREATE INDEX "passages_tsv_idx" ON "passages" USING GIN ("tsv");
