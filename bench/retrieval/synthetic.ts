import { randomUUID } from "node:crypto";
import type { Database } from "../../src/db/database";
import { TextSearchLanguages, unaccent } from "../../src/knowledge/language";
import { corpusSources } from "./corpus";

// Passages in bulk, for search latency at 10,000 and 100,000 passages: a folder of the same org as the
// labelled corpus, filled with passages made of the corpus's own sentences (each passage of one language,
// indexed in that language's configuration as KnowledgeIndex does), so that every question's words occur in
// thousands of passages that the search has to rank through. Written straight into the tables: embedding
// 100,000 passages through an endpoint would take the whole run, so each takes the vector of a labelled
// passage of the org instead (when they have vectors): the vector search then compares as many vectors as
// it would, and the synthetic ones, being copies, compete with the labelled ones as near neighbours.

/** Passages per synthetic document, about what a 20-page manual splits into. */
const PASSAGES_PER_DOCUMENT = 50;

/** The corpus's sentences by language (the id's prefix). */
function sentencesByLanguage(): Map<string, string[]> {
  const byLang = new Map<string, string[]>();
  for (const { id, source } of corpusSources()) {
    const lang = id.split("-")[0];
    const text = source
      .replace(/<[^>]+>/g, " ")
      .replace(/[|#*]|-{3,}/g, " ")
      .replace(/\s+/g, " ");
    const sentences = text.split(/(?<=[.!?])\s+/).filter((s) => s.length > 30);
    byLang.set(lang, [...(byLang.get(lang) ?? []), ...sentences]);
  }
  return byLang;
}

/** Adds `count` passages (and documents to hold them) to a new folder of the org. */
export async function addSyntheticPassages(db: Database, orgId: string, count: number): Promise<void> {
  const folder = await db.prisma.folder.create({ data: { orgId, name: `synthetic ${count}` } });
  const configs = await db.sql<{ name: string }>("SELECT cfgname AS name FROM pg_ts_config", []);
  const languages = new TextSearchLanguages(new Set(configs.map((c) => c.name)));
  const pools = [...sentencesByLanguage()];
  let left = count;
  for (const [i, [lang, sentences]] of pools.entries()) {
    const n = i === pools.length - 1 ? left : Math.round(count / pools.length);
    left -= n;
    if (n <= 0) continue;
    const config = languages.configFor(lang);
    const documentIds = Array.from({ length: Math.ceil(n / PASSAGES_PER_DOCUMENT) }, () => randomUUID());
    await db.sql(
      `INSERT INTO documents (id, folder_id, title, content, format, language)
       SELECT d, $2::uuid, 'Synthetic manual ' || ord, '', 'markdown', $3 FROM unnest($1::uuid[]) WITH ORDINALITY AS t(d, ord)`,
      [documentIds, folder.id, lang],
    );
    // Five to eight random sentences each; the lateral subquery refers to g.n so that it is drawn per row.
    // 'simple' does not fold accents: its text is unaccented first, as KnowledgeIndex does.
    await db.sql(
      `WITH vectors AS (
         SELECT row_number() OVER () - 1 AS i, p.embedding, p.embedding_model FROM passages p JOIN folders f ON f.id = p.folder_id
         WHERE f.org_id = $6::uuid AND f.id <> $2::uuid AND cardinality(p.embedding) > 0
       )
       INSERT INTO passages (id, document_id, folder_id, position, content, ts_config, tsv, embedding, embedding_model)
       SELECT gen_random_uuid(), ($1::uuid[])[1 + g.n / ${PASSAGES_PER_DOCUMENT}], $2::uuid, g.n % ${PASSAGES_PER_DOCUMENT},
              t.content, $4::regconfig, to_tsvector($4::regconfig, t.content), v.embedding, v.embedding_model
       FROM generate_series(0, $5::int - 1) AS g(n)
       CROSS JOIN (SELECT greatest(count(*), 1) AS n FROM vectors) AS c
       CROSS JOIN LATERAL (
         SELECT string_agg(($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int], ' ') AS content
         FROM generate_series(1, 5 + g.n % 4)
       ) AS t
       LEFT JOIN vectors v ON v.i = g.n % c.n`,
      [documentIds, folder.id, config === "simple" ? sentences.map(unaccent) : sentences, config, n, orgId],
    );
  }
  await db.sql("ANALYZE passages", []);
}
