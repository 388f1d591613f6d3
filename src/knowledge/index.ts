import { randomUUID } from "node:crypto";
import type { Passage } from "../assistants/provider";
import { isUuid } from "../assistants/store";
import type { Db } from "../db/database";
import { type Chunk, splitIntoChunks } from "./split";

/** Words beyond this many add little to the ranking and only make the query slower. */
const MAX_QUERY_WORDS = 32;

/**
 * The knowledge folders' documents, split into passages and searched with Postgres full-text search
 * (passages.tsv is a generated, GIN-indexed `to_tsvector('english', content)`).
 */
export class KnowledgeIndex {
  constructor(private readonly prisma: Db) {}

  /** Stores the document and its passages together: a document is never searchable half-indexed. */
  async addDocument(folderId: string, title: string, content: string): Promise<{ id: string; title: string; passages: number }> {
    const id = randomUUID();
    const chunks = splitIntoChunks(content);
    await this.prisma.$transaction([
      this.prisma.document.create({ data: { id, folderId, title, content, format: "markdown" } }),
      this.insertPassages(id, folderId, chunks),
    ]);
    return { id, title, passages: chunks.length };
  }

  /**
   * Replaces a stored document's text and passages and marks it ready, in one transaction: searches see the
   * old passages or the new ones, never a mix. Returns the number of passages.
   */
  async indexDocument(
    documentId: string,
    folderId: string,
    markdown: string,
    fields: { title?: string; contentHash?: string } = {},
  ): Promise<number> {
    const chunks = splitIntoChunks(markdown);
    await this.prisma.$transaction([
      this.prisma.passage.deleteMany({ where: { documentId } }),
      this.insertPassages(documentId, folderId, chunks),
      this.prisma.document.update({
        where: { id: documentId },
        data: { ...fields, content: markdown, status: "ready", error: null, original: null, updatedAt: new Date() },
      }),
    ]);
    return chunks.length;
  }

  private insertPassages(documentId: string, folderId: string, chunks: Chunk[]) {
    return this.prisma.$executeRaw`
      INSERT INTO passages (id, document_id, folder_id, position, content, heading, page, anchor, ts_config, tsv)
      SELECT gen_random_uuid(), ${documentId}::uuid, ${folderId}::uuid, c.position - 1, c.content, c.heading, c.page, c.anchor,
             'english'::regconfig, to_tsvector('english'::regconfig, c.content)
      FROM unnest(${chunks.map((c) => c.content)}::text[], ${chunks.map((c) => c.heading)}::text[],
                  ${chunks.map((c) => c.page)}::int[], ${chunks.map((c) => c.anchor)}::text[])
           WITH ORDINALITY AS c(content, heading, page, anchor, position)`;
  }

  /**
   * The passages of the org's folders (all of them, or only `folderIds`) that best match the query, best
   * first. Any of the query's words may match (an OR query, stemmed and with stop words dropped by the
   * 'english' configuration); passages matching more of them, and closer together, rank higher
   * (ts_rank_cd).
   */
  async search(scope: SearchScope, query: string, limit = 4): Promise<Passage[]> {
    const ids = scope.folderIds?.filter(isUuid) ?? null;
    const words = queryWords(query);
    if (ids?.length === 0 || !words.length || limit < 1) return [];
    // Only letters and digits reach to_tsquery, so the user's text can carry no tsquery operators; and it
    // is a bound parameter, so it carries no SQL either.
    const tsquery = words.join(" | ");
    const rows = await this.prisma.$queryRaw<{ documentId: string; documentTitle: string; content: string; rank: number }[]>`
      SELECT p.document_id::text AS "documentId", d.title AS "documentTitle", p.content, ts_rank_cd(p.tsv, q) AS rank
      FROM passages p
      JOIN folders f ON f.id = p.folder_id AND f.org_id = ${scope.orgId}::uuid AND (f.public OR NOT ${Boolean(scope.publicOnly)}::boolean)
      JOIN documents d ON d.id = p.document_id
      CROSS JOIN to_tsquery('english', ${tsquery}) AS q
      WHERE (${ids === null}::boolean OR p.folder_id = ANY(${ids ?? []}::uuid[])) AND p.tsv @@ q
      ORDER BY rank DESC, d.created_at, p.document_id, p.position
      LIMIT ${Math.floor(limit)}`;
    return rows.map((row) => ({ ...row, rank: Number(row.rank) }));
  }
}

/** Whose passages a search reads: the org's folders, all of them when `folderIds` is not given. */
export interface SearchScope {
  orgId: string;
  folderIds?: string[];
  /** Only folders marked public. */
  publicOnly?: boolean;
}

/** The query's distinct words: lower-case runs of letters and digits, two characters or more. */
export function queryWords(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((w) => w.length >= 2))].slice(0, MAX_QUERY_WORDS);
}
