import { randomUUID } from "node:crypto";
import type { Passage } from "../assistants/provider";
import { isUuid } from "../assistants/store";
import type { Db } from "../db/database";
import { Kept } from "../kept";
import { type Embeddings, EmbeddingsUnusable } from "./embeddings";
import { detectLanguage, TextSearchLanguages, unaccent } from "./language";
import { commitDocument, type Prepared } from "./passages";
import { withoutQuestionWords } from "./question-words";
import { fullTextHits, type Hit, languagesInScope, type ParsedQuestion, type ScopeSql, vectorHits } from "./search-sql";
import { type Chunk, splitIntoChunks } from "./split";
import { backfill, enableVector } from "./vectors";

/** Words beyond this many add little to the ranking and only make the query slower. */
const MAX_QUERY_WORDS = 32;
/** Each search hands this many of its best passages to the fusion. */
const CANDIDATES = 20;
/** How long the languages of a search scope are kept (see KnowledgeIndex.scopeLanguages). */
const SCOPE_LANGUAGES_MS = 2000;
/** Reciprocal rank fusion's constant: a passage at rank r of a list scores 1 / (RRF_K + r). */
const RRF_K = 60;

export interface KnowledgeIndexOptions {
  /** Semantic search besides full text, when an embeddings endpoint is configured. */
  embeddings?: Embeddings;
  /** A passage less similar than this to the question is not a vector match (cosine, -1..1). */
  minSimilarity?: number;
  /** "array": compare vectors in plain SQL even where pgvector is there (both ways are tested on one database). */
  vectorStore?: "array";
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * The knowledge folders' documents, split into passages and searched by Postgres full-text search in each
 * document's own language and, with embeddings configured, by meaning; the two rankings are fused.
 */
export class KnowledgeIndex {
  // Read once per process; a read that failed (the database away) is tried again next time.
  private readonly languages = new Kept<TextSearchLanguages>(Number.POSITIVE_INFINITY);
  private readonly vectorStore = new Kept<"pgvector" | "array">(Number.POSITIVE_INFINITY);
  // The languages of the documents a scope holds change only when a document is indexed: kept briefly, they
  // spare every turn a statement. Forgotten here on each commit; another process's commit is seen within
  // SCOPE_LANGUAGES_MS (its passages in a language new to the scope are found from then on).
  private readonly scopeLanguages = new Kept<(string | null)[]>(SCOPE_LANGUAGES_MS);
  // The backfill's last round found the embeddings server refusing us (logged then, not every round).
  private refusedUs = false;

  constructor(
    private readonly prisma: Db,
    private readonly opts: KnowledgeIndexOptions = {},
  ) {}

  /** Stores the document and its passages together: a document is never searchable half-indexed. */
  async addDocument(folderId: string, title: string, content: string): Promise<{ id: string; title: string; passages: number }> {
    const id = randomUUID();
    const chunks = splitIntoChunks(content);
    // Someone waits for this one (the API's 201): the embeddings server gets one short try, the backfill does the rest.
    const prepared = await this.prepare(folderId, content, chunks, true);
    await commitDocument(this.prisma, await this.textSearch(), folderId, prepared, async (tx, language) => {
      await tx.document.create({ data: { id, folderId, title, content, format: "markdown", language } });
      return { id, title };
    });
    this.scopeLanguages.forget("");
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
    const prepared = await this.prepare(folderId, markdown, chunks, false);
    // The document's row is updated first: its lock makes a second indexing of the same document (a swept
    // job racing the original) wait, and its delete then sees, and replaces, this one's passages.
    await commitDocument(this.prisma, await this.textSearch(), folderId, prepared, async (tx, language) => {
      const data = { ...fields, content: markdown, language, status: "ready", error: null, original: null, updatedAt: new Date() };
      const { title } = await tx.document.update({ where: { id: documentId }, data, select: { title: true } });
      await tx.passage.deleteMany({ where: { documentId } });
      return { id: documentId, title };
    });
    this.scopeLanguages.forget("");
    return chunks.length;
  }

  /**
   * What a document's passages are stored with, found before its transaction: their vectors, and the
   * language detected in case its folder has none. An embeddings server that still fails after its retries
   * (`now`: after one short try) does not hold the document back: it is indexed for full-text search, and
   * backfillEmbeddings() adds the vectors later.
   */
  private async prepare(folderId: string, text: string, chunks: Chunk[], now: boolean): Promise<Prepared> {
    const folder = await this.prisma.folder.findUnique({ where: { id: folderId }, select: { language: true } });
    const detected = folder?.language ? null : detectLanguage(text);
    const { embeddings } = this.opts;
    let vectors: (number[] | null)[] | null = null;
    if (embeddings && chunks.length) {
      const texts = chunks.map((c) => c.content);
      try {
        vectors = await (now ? embeddings.embedNow(texts) : embeddings.embedAll(texts));
      } catch (err) {
        this.opts.logger?.warn({ err: (err as Error).message, folderId }, "passages not embedded; indexed for full-text search only");
      }
    }
    return { text, chunks, detected, vectors: vectors ?? chunks.map(() => null), model: embeddings?.model ?? null };
  }

  /**
   * The passages of the org's folders (all of them, or only `folderIds`) that answer the query, best first.
   * Full text: the question is parsed in the configuration of each language the folders hold, and each
   * passage is matched in its own; passages that cover too little of it are dropped (see fullTextHits).
   * With embeddings: the passages nearest in meaning too, fused with the full-text ranking by reciprocal
   * rank; `rank` is then the fused score. Nothing relevant: an empty list.
   */
  async search(scope: SearchScope, query: string, limit = 4): Promise<Passage[]> {
    const ids = scope.folderIds?.filter(isUuid) ?? null;
    const words = queryWords(query);
    if (ids?.length === 0 || !words.length || limit < 1) return [];
    const sql: ScopeSql = { orgId: scope.orgId, folderIds: ids, publicOnly: Boolean(scope.publicOnly) };
    const [text, near] = await Promise.all([this.fullText(sql, words), this.nearest(sql, query)]);
    const ranked = near ? fuse(text, near) : text;
    return ranked.slice(0, Math.floor(limit)).map(toPassage);
  }

  private async fullText(scope: ScopeSql, words: string[]): Promise<Hit[]> {
    const key = `${scope.orgId}/${scope.publicOnly}/${scope.folderIds?.toSorted().join(",") ?? "*"}`;
    const [languages, inScope] = await Promise.all([
      this.textSearch(),
      this.scopeLanguages.get(key, () => languagesInScope(this.prisma, scope)),
    ]);
    const configs = new Set(inScope.map((l) => languages.configFor(l)));
    // Only letters and digits reach to_tsquery (queryWords), so the user's text can carry no tsquery
    // operators; and it is a bound parameter, so it carries no SQL either.
    // Words that only ask ("how much", "wie lange") are left out in their language (see question-words.ts).
    const questions: ParsedQuestion[] = [...configs]
      .map((config) => {
        const own = config === "simple" ? [...new Set(words.map(unaccent))] : withoutQuestionWords(config, words);
        return { config, ored: own.join(" | "), plain: own.join(" ") };
      })
      .filter((q) => q.plain);
    return questions.length ? fullTextHits(this.prisma, scope, questions, CANDIDATES) : [];
  }

  /**
   * The nearest passages by meaning among those embedded with the configured model, or null without
   * embeddings (or when the question could not be embedded: see Embeddings.embedQuery).
   */
  private async nearest(scope: ScopeSql, query: string): Promise<Hit[] | null> {
    const { embeddings } = this.opts;
    if (!embeddings) return null;
    let vector: number[] | null;
    try {
      vector = await embeddings.embedQuery(query);
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, "question not embedded; searching full text only");
      return null;
    }
    if (!vector) return null;
    const near = { vector, model: embeddings.model, minSimilarity: this.opts.minSimilarity ?? 0.3 };
    return vectorHits(this.prisma, scope, near, await this.storage(), CANDIDATES);
  }

  /**
   * Embeds passages stored without vectors (the embeddings server was away when they were indexed, or
   * embeddings were configured later) or with another model's (the model was changed), a batch at a time,
   * until none are left. Resumable: each batch commits on its own, and only fills passages still due.
   * Returns how many it filled; throws when the server fails (the next call starts where this one stopped).
   * A server that refuses us (a wrong key, model or URL) stops the round, logged once until a round
   * succeeds: the passages stay due, and get their vectors once the configuration is fixed.
   */
  async backfillEmbeddings(maxPassages = Number.POSITIVE_INFINITY): Promise<number> {
    if (!this.opts.embeddings) return 0;
    try {
      const filled = await backfill(this.prisma, this.opts.embeddings, maxPassages);
      this.refusedUs = false;
      return filled;
    } catch (err) {
      if (!(err instanceof EmbeddingsUnusable)) throw err;
      if (!this.refusedUs)
        this.opts.logger?.error(
          { err: err.message },
          "the embeddings server refuses us: check EMBEDDINGS_BASE_URL, EMBEDDINGS_MODEL and EMBEDDINGS_API_KEY",
        );
      this.refusedUs = true;
      return 0;
    }
  }

  /** Where vectors are compared: pgvector when the database has it (PGlite does), else plain arrays. */
  storage(): Promise<"pgvector" | "array"> {
    return this.vectorStore.get("", () => (this.opts.vectorStore === "array" ? Promise.resolve("array") : enableVector(this.prisma)));
  }

  private textSearch(): Promise<TextSearchLanguages> {
    return this.languages.get("", async () => {
      const rows = await this.prisma.$queryRaw<{ name: string }[]>`SELECT cfgname AS name FROM pg_ts_config`;
      return new TextSearchLanguages(new Set(rows.map((r) => r.name)));
    });
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

/** Reciprocal rank fusion: each passage scores the sum of 1 / (RRF_K + its rank) over the lists it is in. */
function fuse(...lists: Hit[][]): Hit[] {
  const fused = new Map<string, Hit>();
  for (const list of lists) {
    list.forEach((hit, i) => {
      const key = `${hit.documentId}/${hit.position}`;
      const score = (fused.get(key)?.score ?? 0) + 1 / (RRF_K + i + 1);
      fused.set(key, { ...hit, score });
    });
  }
  // Stable: a tie keeps the full-text order.
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

function toPassage(hit: Hit): Passage {
  const { documentId, documentTitle, content, heading, page, anchor, sourceUrl, score } = hit;
  return { documentId, documentTitle, content, heading, page, anchor, sourceUrl, rank: score };
}
