import { EmbeddingRefused, Embeddings, EmbeddingsUnusable } from "../../../src/knowledge/embeddings";
import { type FakeEmbeddings, startFakeEmbeddings } from "../../fakes/embeddings";

describe("Embeddings (an OpenAI-compatible /embeddings client)", () => {
  let fake: FakeEmbeddings;
  beforeAll(async () => {
    fake = await startFakeEmbeddings();
  });
  afterAll(() => fake?.close());

  const client = (extra: Partial<ConstructorParameters<typeof Embeddings>[0]> = {}) =>
    new Embeddings({ baseUrl: fake.url, model: "fake", apiKey: "emb-key", batchSize: 3, maxRetries: 2, retryBaseMs: 20, ...extra });

  it("embeds texts in batches, in order, as unit vectors, with the key", async () => {
    const before = fake.requests.length;
    const texts = ["one", "two", "three", "four", "five"];
    const vectors = await client().embedAll(texts);
    expect(fake.requests.slice(before)).toEqual([
      ["one", "two", "three"],
      ["four", "five"],
    ]);
    expect(fake.authorizations.at(-1)).toBe("Bearer emb-key");
    expect(vectors).toHaveLength(5);
    for (const [i, v] of vectors.entries()) {
      expect(Math.hypot(...v)).toBeCloseTo(1, 6);
      expect(v).toEqual((await client().embedAll([texts[i]]))[0]);
    }
  });

  it("tries a failed batch again after a pause, and succeeds", async () => {
    fake.failNext(2);
    const before = fake.requests.length;
    const started = Date.now();
    await expect(client().embedAll(["refund"])).resolves.toHaveLength(1);
    expect(fake.requests.length - before).toBe(3);
    // 20 ms, then 40 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
  });

  it("gives up after its retries with the server's status", async () => {
    fake.failNext(3);
    const before = fake.requests.length;
    await expect(client().embedAll(["refund"])).rejects.toThrow(/answered 503/);
    expect(fake.requests.length - before).toBe(3);
  });

  it("embeds a question once while it is kept, trying only once when the server fails", async () => {
    const embeddings = client({ coolDownMs: 0 });
    fake.failNext(1);
    let before = fake.requests.length;
    expect(await embeddings.embedQuery("opening hours?")).toBeNull();
    expect(fake.requests.length - before).toBe(1);
    before = fake.requests.length;
    const first = await embeddings.embedQuery("opening hours?");
    expect(await embeddings.embedQuery("opening hours?")).toEqual(first);
    expect(fake.requests.length - before).toBe(1);
  });

  it("fails at once, without retrying, when the server refuses us (a wrong URL or key), unlike a text it refuses", async () => {
    let before = fake.requests.length;
    const wrongUrl = client({ baseUrl: `${fake.url}/nowhere` }).embedAll(["x"]);
    await expect(wrongUrl).rejects.toThrow(EmbeddingsUnusable);
    await expect(wrongUrl).rejects.toThrow(/answered 404/);
    expect(fake.requests.length - before).toBe(1);

    fake.requireKey("right-key");
    before = fake.requests.length;
    try {
      const wrongKey = client({ apiKey: "wrong-key" }).embedAll(["x"]);
      await expect(wrongKey).rejects.toThrow(EmbeddingsUnusable);
      await expect(wrongKey).rejects.toThrow(/answered 401/);
      expect(fake.requests.length - before).toBe(1);
    } finally {
      fake.requireKey(null);
    }

    fake.refuseLongerThan(5);
    before = fake.requests.length;
    try {
      await expect(client().embedAll(["far too long"])).rejects.toThrow(EmbeddingRefused);
      expect(fake.requests.length - before).toBe(1);
    } finally {
      fake.refuseLongerThan(null);
    }
  });
});
