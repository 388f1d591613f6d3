import { randomUUID } from "node:crypto";
import type { Database } from "../../src/db/database";
import { corpusSources } from "./corpus";

// Passages in bulk, for search latency at 10,000 and 100,000 passages: a folder of the same org as the
// labelled corpus, filled with passages made of the corpus's own sentences (each passage of one language),
// so that every question's words occur in thousands of passages that the search has to rank through.
// They are written straight into the tables, so they carry no embedding: for hybrid latency, embed them the
// way the index backfills passages that have none, or the vector search ranks the labelled passages alone.

/** Passages per synthetic document, about what a 20-page manual splits into. */
const PASSAGES_PER_DOCUMENT = 50;

/**
 * The text-search configuration a synthetic passage of this language is indexed with: what KnowledgeIndex
 * does today ('english' for every passage). When passages are indexed in their own language, return that
 * language's configuration here, so that the bulk passages are ranked as real ones would be.
 */
function tsConfigFor(_lang: string): string {
  return "english";
}

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
  const pools = [...sentencesByLanguage()];
  let left = count;
  for (const [i, [lang, sentences]] of pools.entries()) {
    const n = i === pools.length - 1 ? left : Math.round(count / pools.length);
    left -= n;
    if (n <= 0) continue;
    const documentIds = Array.from({ length: Math.ceil(n / PASSAGES_PER_DOCUMENT) }, () => randomUUID());
    await db.sql(
      `INSERT INTO documents (id, folder_id, title, content, format, language)
       SELECT d, $2::uuid, 'Synthetic manual ' || ord, '', 'markdown', $3 FROM unnest($1::uuid[]) WITH ORDINALITY AS t(d, ord)`,
      [documentIds, folder.id, lang],
    );
    // Five to eight random sentences each; the lateral subquery refers to g.n so that it is drawn per row.
    await db.sql(
      `INSERT INTO passages (id, document_id, folder_id, position, content, ts_config, tsv)
       SELECT gen_random_uuid(), ($1::uuid[])[1 + g.n / ${PASSAGES_PER_DOCUMENT}], $2::uuid, g.n % ${PASSAGES_PER_DOCUMENT},
              t.content, $4::regconfig, to_tsvector($4::regconfig, t.content)
       FROM generate_series(0, $5::int - 1) AS g(n)
       CROSS JOIN LATERAL (
         SELECT string_agg(($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int], ' ') AS content
         FROM generate_series(1, 5 + g.n % 4)
       ) AS t`,
      [documentIds, folder.id, sentences, tsConfigFor(lang), n],
    );
  }
  await db.sql("ANALYZE passages", []);
}
