import type { Database } from "../../src/db/database";
import { KnowledgeIndex } from "../../src/knowledge";
import { Embeddings, type EmbeddingsOptions } from "../../src/knowledge/embeddings";
import { type FakeEmbeddings, startFakeEmbeddings } from "../../test/fakes/embeddings";

// The ways the retrieval figure searches: full text alone, and hybrid (full text fused with the nearest
// passages by meaning). Hybrid uses the embeddings endpoint configured as the hub's is (EMBEDDINGS_BASE_URL,
// EMBEDDINGS_MODEL, EMBEDDINGS_API_KEY), or else the tests' fake server, which is no model: hashed words
// and a few shared concepts, so that its figures show the plumbing's cost, not what a model finds.

export interface Mode {
  name: string;
  /** A new index over the database, as the hub makes it. */
  index: (db: Database) => KnowledgeIndex;
}

export interface Modes {
  modes: Mode[];
  /** Which embeddings hybrid used, for the report. */
  embeddings: string;
  close(): Promise<void>;
}

export async function startModes(config: {
  EMBEDDINGS_BASE_URL?: string;
  EMBEDDINGS_MODEL: string;
  EMBEDDINGS_API_KEY?: string;
  EMBEDDINGS_MIN_SIMILARITY: number;
}): Promise<Modes> {
  let fake: FakeEmbeddings | null = null;
  let endpoint: EmbeddingsOptions;
  if (config.EMBEDDINGS_BASE_URL) {
    endpoint = { baseUrl: config.EMBEDDINGS_BASE_URL, model: config.EMBEDDINGS_MODEL, apiKey: config.EMBEDDINGS_API_KEY };
  } else {
    fake = await startFakeEmbeddings();
    endpoint = { baseUrl: fake.url, model: "fake" };
  }
  const minSimilarity = config.EMBEDDINGS_MIN_SIMILARITY;
  return {
    modes: [
      { name: "full-text", index: (db) => new KnowledgeIndex(db.prisma) },
      { name: "hybrid", index: (db) => new KnowledgeIndex(db.prisma, { embeddings: new Embeddings(endpoint), minSimilarity }) },
    ],
    embeddings: fake
      ? "hybrid: the fake embeddings server of test/fakes (hashed words, no model)"
      : `hybrid: ${config.EMBEDDINGS_MODEL} at ${config.EMBEDDINGS_BASE_URL}`,
    close: async () => fake?.close(),
  };
}
