-- The model that made each passage's vector (NULL while it has none). Vectors of another model are never
-- compared with a question's, and the backfill embeds them again: a change of EMBEDDINGS_MODEL re-embeds the
-- knowledge over time. Vectors stored before this column existed have no model, and are embedded again too.
ALTER TABLE "passages" ADD COLUMN "embedding_model" TEXT;

-- The backfill's work: passages with no model (no vector yet) or another model than the configured one,
-- found by range scans of this index (IS NULL, < model, > model) rather than by reading every passage.
DROP INDEX "passages_unembedded_idx";
CREATE INDEX "passages_embedding_model_idx" ON "passages" ("embedding_model");
