import type { Db } from "../db/database";
import { Prisma } from "../generated/prisma/client";

/** A passage found by one of the two searches, best first, before they are fused. */
export interface Hit {
  documentId: string;
  position: number;
  documentTitle: string;
  content: string;
  heading: string | null;
  page: number | null;
  anchor: string | null;
  sourceUrl: string | null;
  /** Full text: the share of the question's words it covers, plus up to 0.25 for how close they sit. Vector: cosine similarity. */
  score: number;
}

/** Which of the org's folders a search reads (see SearchScope), as SQL over passages `p` joined to folders `f`. */
export interface ScopeSql {
  orgId: string;
  folderIds: string[] | null;
  publicOnly: boolean;
}

const scopeJoin = (s: ScopeSql) => Prisma.sql`
  JOIN folders f ON f.id = p.folder_id AND f.org_id = ${s.orgId}::uuid AND (f.public OR NOT ${s.publicOnly}::boolean)
  JOIN documents d ON d.id = p.document_id`;
const scopeWhere = (s: ScopeSql) => Prisma.sql`(${s.folderIds === null}::boolean OR p.folder_id = ANY(${s.folderIds ?? []}::uuid[]))`;

const HIT_COLUMNS = Prisma.raw(`p.document_id::text AS "documentId", p.position, d.title AS "documentTitle", p.content,
  p.heading, p.page, p.anchor, d.source_url AS "sourceUrl"`);

/** The languages (as stored on documents) of the documents in scope: which configurations to parse a question in. */
export async function languagesInScope(prisma: Db, scope: ScopeSql): Promise<(string | null)[]> {
  const rows = await prisma.$queryRaw<{ language: string | null }[]>`
    SELECT DISTINCT d.language FROM documents d
    JOIN folders f ON f.id = d.folder_id AND f.org_id = ${scope.orgId}::uuid AND (f.public OR NOT ${scope.publicOnly}::boolean)
    WHERE (${scope.folderIds === null}::boolean OR d.folder_id = ANY(${scope.folderIds ?? []}::uuid[]))`;
  return rows.map((r) => r.language);
}

/** The question as one text-search configuration reads it: its words OR-ed, and the same words as plain text. */
export interface ParsedQuestion {
  config: string;
  ored: string;
  plain: string;
}

/**
 * Full-text search over passages, each matched in its own configuration against the question parsed in that
 * configuration. A passage must cover a strict majority of the question's words (stop words dropped,
 * stemmed), or three of them for a long question: one shared common word ("open" of "opening hours" in a
 * password passage) is not a match.
 */
export async function fullTextHits(prisma: Db, scope: ScopeSql, questions: ParsedQuestion[], limit: number): Promise<Hit[]> {
  // One branch a configuration, its query a constant: each is a GIN index scan (one query joined to a table
  // of configurations is planned as a sequential scan of all passages).
  const branches = questions.map((q) => {
    const query = Prisma.sql`to_tsquery(${q.config}::regconfig, ${q.ored})`;
    const lexemes = Prisma.sql`tsvector_to_array(to_tsvector(${q.config}::regconfig, ${q.plain}))`;
    return Prisma.sql`
      SELECT ${HIT_COLUMNS}, d.created_at, ts_rank_cd(p.tsv, ${query}, 32) AS closeness, cardinality(${lexemes}) AS wanted,
             cardinality(ARRAY(SELECT unnest(${lexemes}) INTERSECT SELECT unnest(tsvector_to_array(p.tsv)))) AS matched
      FROM passages p
      ${scopeJoin(scope)}
      WHERE ${scopeWhere(scope)} AND p.ts_config = ${q.config}::regconfig AND p.tsv @@ ${query}`;
  });
  const rows = await prisma.$queryRaw<Hit[]>`
    SELECT "documentId", position, "documentTitle", content, heading, page, anchor, "sourceUrl",
           matched::float8 / wanted + 0.25 * closeness AS score
    FROM (${Prisma.join(branches, " UNION ALL ")}) hit
    WHERE matched >= least(3, wanted / 2 + 1)
    ORDER BY score DESC, created_at, "documentId", position
    LIMIT ${limit}`;
  return rows.map((row) => ({ ...row, score: Number(row.score) }));
}

/** A question's vector (unit length), the model that made it, and how similar a passage must be. */
export interface NearQuestion {
  vector: number[];
  model: string;
  minSimilarity: number;
}

/**
 * The passages nearest to a unit-length question vector, by cosine similarity, no less similar than
 * `minSimilarity`. Exact search: with pgvector, its distance over the stored arrays cast to vectors; without,
 * the dot product in SQL (stored vectors have length 1). Only passages embedded by the question's model are
 * compared: another model's vectors are in another space, even with as many dimensions.
 */
export async function vectorHits(
  prisma: Db,
  scope: ScopeSql,
  { vector, model, minSimilarity }: NearQuestion,
  store: "pgvector" | "array",
  limit: number,
): Promise<Hit[]> {
  const similarity =
    store === "pgvector"
      ? Prisma.sql`1 - (p.embedding::vector <=> ${`[${vector.join(",")}]`}::vector)`
      : Prisma.sql`(SELECT sum(a * b) FROM unnest(p.embedding, ${vector}::real[]) AS t(a, b))`;
  const rows = await prisma.$queryRaw<Hit[]>`
    SELECT * FROM (
      SELECT ${HIT_COLUMNS}, d.created_at, (${similarity})::float8 AS score
      FROM passages p
      ${scopeJoin(scope)}
      WHERE ${scopeWhere(scope)} AND p.embedding_model = ${model} AND cardinality(p.embedding) = ${vector.length}
    ) near
    WHERE score >= ${minSimilarity}
    ORDER BY score DESC, created_at, "documentId", position
    LIMIT ${limit}`;
  return rows.map((row) => ({ ...row, score: Number(row.score) }));
}
