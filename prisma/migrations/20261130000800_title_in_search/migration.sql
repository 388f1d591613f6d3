-- Each passage's search text starts with its document's title (see src/knowledge/passages.ts): passages
-- stored before are given it too.
UPDATE "passages" p SET "tsv" = to_tsvector(p."ts_config", d."title") || p."tsv"
FROM "documents" d WHERE d."id" = p."document_id";
