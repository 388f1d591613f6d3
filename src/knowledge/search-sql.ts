import type { Passage } from "../assistants/provider";
import type { Db } from "../db/database";
import { Prisma } from "../generated/prisma/client";

/** A passage found by one of the two searches, best first, before they are fused. */
export interface Hit extends Omit<Passage, "rank"> {
  position: number;
  /** Full text: the share of the question it covers (words weighted by rarity), plus up to 0.25 for how close they sit. Vector: cosine similarity. */
  score: number;
}

/** Which of the org's folders a search reads (see SearchScope), as SQL over passages `p` joined to folders `f`. */
export interface ScopeSql {
  orgId: string;
  folderIds: string[] | null;
  publicOnly: boolean;
}

const folderJoin = (s: ScopeSql) => Prisma.sql`
  JOIN folders f ON f.id = p.folder_id AND f.org_id = ${s.orgId}::uuid AND (f.public OR NOT ${s.publicOnly}::boolean)`;
const scopeJoin = (s: ScopeSql) => Prisma.sql`${folderJoin(s)}
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

/** A passage must cover this share of the question, its words weighted by how rare they are (see fullTextHits). */
const FLOOR = 0.5;

/**
 * Full-text search over passages, each matched in its own configuration against the question parsed in that
 * configuration. Each word of the question weighs its BM25 idf among the passages in scope that share a word
 * with the question (a word few of them have says more about which one answers than a word most have), and a
 * passage must cover at least half of the question's weight: one shared common word ("open" of "opening
 * hours" in a password passage) is not a match. A word no passage in scope has weighs the most ("hours" where
 * only passwords are), unless the scope has most of the question's words: then such words are the asker's own
 * wording ("swimming" where the passage says "pool"), and only the words the scope has are weighed.
 */
export async function fullTextHits(prisma: Db, scope: ScopeSql, questions: ParsedQuestion[], limit: number): Promise<Hit[]> {
  const query = (q: ParsedQuestion) => Prisma.sql`to_tsquery(${q.config}::regconfig, ${q.ored})`;
  const lexemes = (q: ParsedQuestion) => Prisma.sql`tsvector_to_array(to_tsvector(${q.config}::regconfig, ${q.plain}))`;
  // One branch a configuration, its query a constant: each is a GIN index scan (one query joined to a table
  // of configurations is planned as a sequential scan of all passages). A hit's words are filtered on (a hit
  // always has one) so that the planner counts their cost for every row it would read, and reads the index:
  // a sequential scan of every passage was 3 times slower. Only what weighing needs is read of each hit.
  const branches = questions.map(
    (q) => Prisma.sql`
      SELECT p.id, p.ts_config AS config, m.words
      FROM passages p
      ${folderJoin(scope)}
      CROSS JOIN LATERAL (SELECT ARRAY(SELECT w FROM unnest(${lexemes(q)}) AS w WHERE p.tsv @@ quote_literal(w)::tsquery) AS words) m
      WHERE ${scopeWhere(scope)} AND p.ts_config = ${q.config}::regconfig AND p.tsv @@ ${query(q)} AND cardinality(m.words) > 0`,
  );
  const asked = questions.map((q) => Prisma.sql`SELECT ${q.config}::regconfig AS config, ${query(q)} AS query, ${lexemes(q)} AS words`);
  const rows = await prisma.$queryRaw<Hit[]>`
    WITH hit AS (${Prisma.join(branches, " UNION ALL ")}),
    asked AS (${Prisma.join(asked, " UNION ALL ")}),
    -- Every passage in scope with a word of the question is a hit: counting hits gives each word's document
    -- frequency among them. (Among all the scope's passages would take a count of them: 100 ms at 100,000.)
    hits AS (SELECT config, count(*)::float8 AS n FROM hit GROUP BY config),
    frequency AS (SELECT config, word, count(*) AS df FROM hit, unnest(words) AS word GROUP BY config, word),
    weight AS (
      SELECT a.config, w.word, f.df IS NULL AS absent, ln(1 + (h.n - coalesce(f.df, 0) + 0.5) / (coalesce(f.df, 0) + 0.5)) AS idf
      FROM asked a CROSS JOIN unnest(a.words) AS w(word) JOIN hits h USING (config) LEFT JOIN frequency f USING (config, word)),
    question AS (
      SELECT config, CASE WHEN count(*) FILTER (WHERE NOT absent) > count(*) FILTER (WHERE absent)
                          THEN sum(idf) FILTER (WHERE NOT absent) ELSE sum(idf) END AS weight
      FROM weight GROUP BY config),
    covered AS (
      SELECT * FROM (
        SELECT hit.id, hit.config, (SELECT sum(w.idf) FROM weight w WHERE w.config = hit.config AND w.word = ANY(hit.words)) / q.weight AS coverage
        FROM hit JOIN question q USING (config)
      ) c WHERE coverage >= ${FLOOR})
    SELECT ${HIT_COLUMNS}, c.coverage + 0.25 * ts_rank_cd(p.tsv, a.query, 32) AS score
    FROM covered c JOIN asked a USING (config) JOIN passages p ON p.id = c.id JOIN documents d ON d.id = p.document_id
    ORDER BY score DESC, d.created_at, "documentId", p.position
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
