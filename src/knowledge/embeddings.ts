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
  /** How long a request may take: a batch of passages, and a question (a user waits for that one). */
  timeoutMs?: number;
  queryTimeoutMs?: number;
}

// Rate limits, timeouts and server faults pass; any other 4xx (a wrong key, an unknown model) will not.
const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

/** The server refused the request itself (a text too long for the model, say): trying it again will not help. */
export class EmbeddingRefused extends Error {}

// A question asked again within this long (a retried turn, a popular question) is not embedded again.
const QUERY_KEEP_MS = 60_000;

/**
 * Any OpenAI-compatible embeddings endpoint. Vectors come back scaled to length 1, so that cosine similarity
 * is their dot product: the array path of the index computes nothing else.
 */
export class Embeddings {
  private readonly queries = new Kept<number[]>(QUERY_KEEP_MS, 1000);

  constructor(private readonly opts: EmbeddingsOptions) {}

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
   * A question's vector: one attempt with a short timeout, since a user is waiting and full-text search
   * answers without it. Kept a minute by its text.
   */
  embedQuery(text: string): Promise<number[]> {
    return this.queries.get(text, async () => (await this.request([text], this.opts.queryTimeoutMs ?? 5_000))[0]);
  }

  private async withRetries(texts: string[], retries: number): Promise<number[][]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request(texts, this.opts.timeoutMs ?? 30_000);
      } catch (err) {
        if (attempt >= retries || err instanceof EmbeddingRefused) throw err;
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
      throw RETRYABLE(response.status) ? new Error(message) : new EmbeddingRefused(message);
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
