import { randomUUID } from "node:crypto";
import type { Db } from "../db/database";
import { Prisma } from "../generated/prisma/client";
import { EmbeddingRefused, type Embeddings } from "./embeddings";

/** Passages the embeddings backfill takes at a time. */
const BACKFILL_BATCH = 64;

/**
 * Installs pgvector where the database offers it and lets us (a server whose role may not create extensions
 * keeps the array path). Passages keep their vectors in a plain real[] column either way, so that one schema
 * serves both; pgvector only computes the distances.
 */
export async function enableVector(prisma: Db): Promise<"pgvector" | "array"> {
  const [row] = await prisma.$queryRaw<{ installed: boolean; available: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed,
           EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available`;
  if (row.installed) return "pgvector";
  if (!row.available) return "array";
  // Another process may be creating it at the same moment (and fail us); what counts is whether it is there.
  await prisma.$executeRaw`CREATE EXTENSION IF NOT EXISTS vector`.catch(() => {});
  const [after] = await prisma.$queryRaw<{ installed: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed`;
  return after.installed ? "pgvector" : "array";
}

/**
 * The texts' vectors; when the server refuses the batch (400, 413, 422), each text alone, and an empty vector
 * for each it refuses alone (too long for the model, say): stored with the model, it is never compared (no
 * dimensions match) and not tried again until the model changes, so one such passage does not stop the
 * backfill of all the others. Any other failure is thrown (see backfill).
 */
async function embedEach(embeddings: Embeddings, texts: string[]): Promise<number[][]> {
  if (texts.length > 1) {
    try {
      return await embeddings.embedAll(texts);
    } catch (err) {
      if (!(err instanceof EmbeddingRefused)) throw err;
    }
  }
  const out: number[][] = [];
  for (const text of texts) {
    out.push(
      await embeddings.embedAll([text]).then(
        ([vector]) => vector,
        (err) => (err instanceof EmbeddingRefused ? [] : Promise.reject(err)),
      ),
    );
  }
  return out;
}

/**
 * Fills passages stored without vectors, or with another model's, a batch at a time; see
 * KnowledgeIndex.backfillEmbeddings.
 */
export async function backfill(prisma: Db, embeddings: Embeddings, maxPassages: number): Promise<number> {
  const { model } = embeddings;
  // Written as ranges, not `IS DISTINCT FROM`, so that it is three scans of passages_embedding_model_idx when
  // few are due; when many are (a new model), the primary key's order finds a batch at once. (`p.id`: the
  // uuid, whose order the index has, not the text column of the same name.)
  const due = Prisma.sql`(embedding_model IS NULL OR embedding_model < ${model} OR embedding_model > ${model})`;
  let filled = 0;
  while (filled < maxPassages) {
    const batch = Math.min(BACKFILL_BATCH, maxPassages - filled);
    // From a random id on, wrapping around: the sweepers of several workers mostly take different passages.
    const start = randomUUID();
    const rows = await prisma.$queryRaw<{ id: string; content: string }[]>`
      (SELECT p.id::text, content FROM passages p WHERE ${due} AND p.id >= ${start}::uuid ORDER BY p.id LIMIT ${batch})
      UNION ALL
      (SELECT p.id::text, content FROM passages p WHERE ${due} AND p.id < ${start}::uuid ORDER BY p.id LIMIT ${batch})
      LIMIT ${batch}`;
    if (!rows.length) break;
    const vectors = await embedEach(
      embeddings,
      rows.map((r) => r.content),
    );
    await prisma.$executeRaw`
      UPDATE passages p SET embedding = v.embedding::real[], embedding_model = ${model}
      FROM unnest(${rows.map((r) => r.id)}::uuid[], ${vectors.map(arrayLiteral)}::text[]) AS v(id, embedding)
      WHERE p.id = v.id AND ${due}`;
    filled += rows.length;
  }
  return filled;
}

/** A vector as a Postgres array literal, for a text[] parameter cast row by row to real[] (unnest flattens 2-D arrays). */
export const arrayLiteral = (vector: number[] | null) => (vector ? `{${vector.join(",")}}` : null);
