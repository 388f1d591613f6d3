import type { Db } from "../db/database";
import type { Prisma } from "../generated/prisma/client";
import { detectLanguage, type TextSearchLanguages, unaccent } from "./language";
import type { Chunk } from "./split";
import { arrayLiteral } from "./vectors";

/** A document's text and passages, with what was found for them before their transaction (KnowledgeIndex.prepare). */
export interface Prepared {
  text: string;
  chunks: Chunk[];
  /** The text's language, detected when its folder had none. */
  detected: string | null;
  vectors: (number[] | null)[];
  /** The model that made the vectors. */
  model: string | null;
}

type Tx = Prisma.TransactionClient;

/**
 * Writes the document (`write`, which returns its id) and inserts its passages in one transaction, in the
 * folder's language as it is now: the folder's row is read locked, so a change of its language either
 * commits first and is read here, or waits for this to commit and then sends the document back to be
 * indexed again. Either way no document ends ready in a language its folder no longer has.
 */
export async function commitDocument(
  prisma: Db,
  languages: TextSearchLanguages,
  folderId: string,
  prepared: Prepared,
  write: (tx: Tx, language: string) => Promise<{ id: string; title: string }>,
): Promise<void> {
  await prisma.$transaction(
    async (tx) => {
      const [folder] = await tx.$queryRaw<{ language: string | null }[]>`
        SELECT language FROM folders WHERE id = ${folderId}::uuid FOR SHARE`;
      const language = folder?.language ?? prepared.detected ?? detectLanguage(prepared.text);
      const document = await write(tx, language);
      await insertPassages(tx, document, folderId, languages.configFor(language), prepared);
    },
    // A large document's passages take a while to insert; the pool may be busy with turns.
    { maxWait: 10_000, timeout: 120_000 },
  );
}

/**
 * Each passage's search text starts with its document's title: a question naming what only the title says
 * ("returns at Moda Lumbre") finds the document's passages.
 */
function insertPassages(tx: Tx, document: { id: string; title: string }, folderId: string, config: string, prepared: Prepared) {
  const { chunks, vectors, model } = prepared;
  // 'simple' does not fold accents: its text is unaccented first, as questions are.
  const searched = (text: string) => (config === "simple" ? unaccent(text) : text);
  return tx.$executeRaw`
    INSERT INTO passages (id, document_id, folder_id, position, content, heading, page, anchor, ts_config, tsv, embedding, embedding_model)
    SELECT gen_random_uuid(), ${document.id}::uuid, ${folderId}::uuid, c.position - 1, c.content, c.heading, c.page, c.anchor,
           ${config}::text::regconfig,
           to_tsvector(${config}::text::regconfig, ${searched(document.title)}) || to_tsvector(${config}::text::regconfig, c.tsv_text),
           c.embedding::real[], CASE WHEN c.embedding IS NULL THEN NULL ELSE ${model}::text END
    FROM unnest(${chunks.map((c) => c.content)}::text[], ${chunks.map((c) => c.heading)}::text[],
                ${chunks.map((c) => c.page)}::int[], ${chunks.map((c) => c.anchor)}::text[], ${chunks.map((c) => searched(c.content))}::text[],
                ${vectors.map(arrayLiteral)}::text[])
         WITH ORDINALITY AS c(content, heading, page, anchor, tsv_text, embedding, position)`;
}
