import { setTimeout as sleep } from "node:timers/promises";
import { Kept } from "../kept";

export interface EmbeddingsOptions {
  /** Up to and including the version, e.g. `https://api.openai.com/v1`: texts are posted to `{baseUrl}/embeddings`. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Texts a request carries at most. */
  batchSize?: number;
  /** Attempts after the first, each after a longer pause (retryBaseMs, doubled each time). */
  maxRetries?: number;
  retryBaseMs?: number;
  /**
   * How long a request may take: a batch of passages for the workers, and one that someone waits for (a
   * question, a document posted as JSON), tried once.
   */
  timeoutMs?: number;
  queryTimeoutMs?: number;
  /** After a request someone waited for failed, how long those skip the server (full text answers alone). */
  coolDownMs?: number;
  logger?: { warn(obj: object, msg: string): void };
}

// Rate limits, timeouts and server faults pass.
const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;
// What a server answers for a text it will not embed (too long for the model, say).
const REFUSING = new Set([400, 413, 422]);

/** The server refused the texts of the request: trying them again will not help (one at a time, it might). */
export class EmbeddingRefused extends Error {}

/** Any other 4xx (a wrong key, an unknown model or URL): nothing will be embedded until the configuration is fixed. */
export class EmbeddingsUnusable extends Error {}

// A question asked again within this long (a retried turn, a popular question) is not embedded again.
const QUERY_KEEP_MS = 60_000;

/**
 * Any OpenAI-compatible embeddings endpoint. Vectors come back scaled to length 1, so that cosine similarity
 * is their dot product: the array path of the index computes nothing else.
 */
export class Embeddings {
  private readonly queries = new Kept<number[]>(QUERY_KEEP_MS, 1000);
  // Until when requests someone waits for are not made (see waited).
  private coolUntil = 0;

  constructor(private readonly opts: EmbeddingsOptions) {}

  /** The model vectors are made with: a vector of another model is never compared with this one's. */
  get model(): string {
    return this.opts.model;
  }

  /**
   * Embeds the passages of a document in batches, each tried again with backoff (up to `retries` times);
   * throws when one still fails.
   */
  async embedAll(texts: string[], retries = this.opts.maxRetries ?? 3): Promise<number[][]> {
    const size = this.opts.batchSize ?? 64;
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += size) out.push(...(await this.withRetries(texts.slice(i, i + size), retries)));
    return out;
  }

  /**
   * A document's passages for someone waiting (the API's 201): one try of each batch with the short timeout,
   * or null (then the backfill embeds them later); none during a cool-down (see waited). A failure here does
   * not start one: a large batch may take longer than a question on a server that is fine.
   */
  embedNow(texts: string[]): Promise<number[][] | null> {
    const size = this.opts.batchSize ?? 64;
    return this.waited(false, async () => {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += size) out.push(...(await this.request(texts.slice(i, i + size), this.quickMs)));
      return out;
    });
  }

  /**
   * A question's vector, or null: one try with the short timeout, since a user is waiting and full-text
   * search answers without it (see waited). Kept a minute by its text.
   */
  embedQuery(text: string): Promise<number[] | null> {
    return this.waited(true, () => this.queries.get(text, async () => (await this.request([text], this.quickMs))[0]));
  }

  private get quickMs() {
    return this.opts.queryTimeoutMs ?? 2_000;
  }

  /**
   * A call someone waits for, or null when it failed or a question failed lately: a server that hangs or
   * fails then costs one short timeout per cool-down, not one per reply. A failed question (`cools`) starts
   * the cool-down, logged once. A text the server refuses is the text's fault, not the server's: thrown.
   */
  private async waited<T>(cools: boolean, call: () => Promise<T>): Promise<T | null> {
    if (Date.now() < this.coolUntil) return null;
    try {
      return await call();
    } catch (err) {
      if (err instanceof EmbeddingRefused) throw err;
      if (!cools) {
        this.opts.logger?.warn({ err: (err as Error).message }, "passages not embedded now; the backfill will");
        return null;
      }
      const first = Date.now() >= this.coolUntil;
      const coolDownMs = this.opts.coolDownMs ?? 30_000;
      this.coolUntil = Date.now() + coolDownMs;
      if (first)
        this.opts.logger?.warn({ err: (err as Error).message, coolDownMs }, "embeddings server failed; full-text search only for a while");
      return null;
    }
  }

  private async withRetries(texts: string[], retries: number): Promise<number[][]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request(texts, this.opts.timeoutMs ?? 30_000);
      } catch (err) {
        if (attempt >= retries || err instanceof EmbeddingRefused || err instanceof EmbeddingsUnusable) throw err;
        await sleep((this.opts.retryBaseMs ?? 500) * 2 ** attempt);
      }
    }
  }

  private async request(texts: string[], timeoutMs: number): Promise<number[][]> {
    const url = `${this.opts.baseUrl.replace(/\/+$/, "")}/embeddings`;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: this.opts.model, input: texts }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      const message = `the embeddings server at ${url} answered ${response.status}`;
      if (RETRYABLE(response.status)) throw new Error(message);
      throw REFUSING.has(response.status) ? new EmbeddingRefused(message) : new EmbeddingsUnusable(message);
    }
    const body = (await response.json()) as { data?: { index?: number; embedding?: unknown }[] };
    const vectors: number[][] = new Array(texts.length);
    for (const [i, item] of (body.data ?? []).entries()) {
      if (Array.isArray(item.embedding)) vectors[item.index ?? i] = unitLength(item.embedding.map(Number));
    }
    if (vectors.filter(Boolean).length !== texts.length || vectors.some((v) => v.some((x) => !Number.isFinite(x)))) {
      throw new Error(`the embeddings server at ${url} did not answer with one vector per text`);
    }
    return vectors;
  }
}

function unitLength(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return norm ? vector.map((x) => x / norm) : vector;
}
