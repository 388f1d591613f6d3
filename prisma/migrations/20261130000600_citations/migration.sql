-- Where a reply's knowledge came from, to follow: [{"documentId", "title", "heading", "page", "url"}] for each
-- passage the reply drew on. `sources` keeps the titles alone, as the ask API's knowledge_sources defines them.
ALTER TABLE "messages" ADD COLUMN "citations" JSONB NOT NULL DEFAULT '[]';

-- The passages still to be embedded (an embeddings server that was away at ingest, or configured later): the
-- backfill finds them without reading every passage, from a random id on, so that workers take different ones.
CREATE INDEX "passages_unembedded_idx" ON "passages" ("id") WHERE "embedding" IS NULL;
