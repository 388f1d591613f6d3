import type { Database } from "../../../src/db/database";
import { Embeddings, type EmbeddingsOptions } from "../../../src/knowledge/embeddings";
import { KnowledgeIndex } from "../../../src/knowledge/index";
import { FAKE_DIMENSIONS, type FakeEmbeddings, startFakeEmbeddings } from "../../fakes/embeddings";
import { DB_KINDS, openTestDatabase } from "../../support/databases";
import { waitFor } from "../../support/processes";

// What the hub does when its embeddings server is misconfigured, replaced, slow or hanging.

const GERMAN_HOURS = "# Öffnungszeiten\n\nMontag bis Freitag von 9 bis 18 Uhr, samstags von 10 bis 14 Uhr.";
const REFUNDS = "# Refunds\n\nWe refund your order within 10 days of receiving the return.";
const QUERY_TIMEOUT_MS = 300;

describe.each(DB_KINDS)("KnowledgeIndex when the embeddings server fails (%s)", (kind) => {
  let db: Database;
  let fake: FakeEmbeddings;
  let orgId: string;
  const logs: { level: string; msg: string }[] = [];
  const logger = {
    warn: (_: object, msg: string) => logs.push({ level: "warn", msg }),
    error: (_: object, msg: string) => logs.push({ level: "error", msg }),
  };
  const indexWith = (opts: Partial<EmbeddingsOptions> = {}) =>
    new KnowledgeIndex(db.prisma, {
      embeddings: new Embeddings({ baseUrl: fake.url, model: "fake-v1", batchSize: 2, maxRetries: 1, retryBaseMs: 10, logger, ...opts }),
      minSimilarity: 0.3,
      logger,
    });
  const folderOf = async (name: string, language?: string) => (await db.prisma.folder.create({ data: { orgId, name, language } })).id;
  const vectors = (folderId: string) =>
    db.prisma.$queryRaw<{ dims: number | null; model: string | null }[]>`
      SELECT cardinality(embedding) AS dims, embedding_model AS model FROM passages WHERE folder_id = ${folderId}::uuid ORDER BY position`;
  const titles = (found: { documentTitle: string }[]) => found.map((p) => p.documentTitle);

  beforeAll(async () => {
    fake = await startFakeEmbeddings();
    db = await openTestDatabase(kind);
    orgId = (await db.prisma.org.create({ data: { name: "Faults" } })).id;
  });
  afterAll(async () => {
    fake?.release();
    await db?.close();
    await fake?.close();
  });
  beforeEach(() => {
    logs.length = 0;
  });

  it("leaves passages unembedded, not refused, while the server rejects the key, and embeds them once it is fixed", async () => {
    const folder = await folderOf("Wrong key");
    fake.requireKey("right-key");
    try {
      const wrong = indexWith({ apiKey: "wrong-key" });
      const doc = await db.prisma.document.create({ data: { folderId: folder, title: "Hours", content: "", status: "processing" } });
      await wrong.indexDocument(doc.id, folder, `${GERMAN_HOURS}\n\n${REFUNDS}`);
      expect(await vectors(folder)).toEqual([
        { dims: null, model: null },
        { dims: null, model: null },
      ]);
      // The round stops at the first batch, logged once however many rounds find the key still wrong.
      const before = fake.requests.length;
      expect(await wrong.backfillEmbeddings()).toBe(0);
      expect(await wrong.backfillEmbeddings()).toBe(0);
      expect(fake.requests.length - before).toBe(2);
      expect(logs.filter((l) => l.level === "error").map((l) => l.msg)).toEqual([expect.stringMatching(/EMBEDDINGS_API_KEY/)]);
      expect(await vectors(folder)).toEqual([
        { dims: null, model: null },
        { dims: null, model: null },
      ]);

      const fixed = indexWith({ apiKey: "right-key" });
      expect(await fixed.backfillEmbeddings()).toBe(2);
      expect(await vectors(folder)).toEqual([
        { dims: FAKE_DIMENSIONS, model: "fake-v1" },
        { dims: FAKE_DIMENSIONS, model: "fake-v1" },
      ]);
      const [found] = await fixed.search({ orgId, folderIds: [folder] }, "What are your opening hours?");
      expect(found.content).toMatch(/Montag bis Freitag/);
    } finally {
      fake.requireKey(null);
    }
  });

  it("ends a document in its folder's new language when the language changes while its passages are embedded", async () => {
    const folder = await folderOf("Relanguaged", "en");
    const doc = await db.prisma.document.create({ data: { folderId: folder, title: "Stunden", content: "", status: "processing" } });
    const index = indexWith();
    fake.hold();
    let indexing: Promise<number>;
    try {
      const before = fake.requests.length;
      indexing = index.indexDocument(doc.id, folder, GERMAN_HOURS);
      await waitFor(() => fake.requests.length > before, 60_000, "the embeddings request");
      // What PATCH /api/folders/:id does with a new language, while the embeddings server holds the request.
      await db.prisma.$transaction([
        db.prisma.folder.update({ where: { id: folder }, data: { language: "de" } }),
        db.prisma.document.updateMany({ where: { folderId: folder, status: "ready" }, data: { status: "processing", attempts: 0 } }),
      ]);
    } finally {
      fake.release();
    }
    expect(await indexing).toBe(1);
    expect(await db.prisma.document.findUnique({ where: { id: doc.id }, select: { status: true, language: true } })).toEqual({
      status: "ready",
      language: "de",
    });
    const [passage] = await db.prisma.$queryRaw<{ config: string }[]>`
      SELECT ts_config::text AS config FROM passages WHERE document_id = ${doc.id}::uuid`;
    expect(passage.config).toBe("german");
  });

  it("answers from full text within the short timeout while the server hangs, then skips it for the cool-down", async () => {
    const folder = await folderOf("Hanging");
    await indexWith().addDocument(folder, "Refunds", REFUNDS);
    const index = indexWith({ queryTimeoutMs: QUERY_TIMEOUT_MS, coolDownMs: 60_000 });
    fake.hold();
    try {
      let before = fake.requests.length;
      const started = Date.now();
      expect(titles(await index.search({ orgId, folderIds: [folder] }, "How do I get a refund for my order?"))).toEqual(["Refunds"]);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 10);
      expect(took).toBeLessThan(QUERY_TIMEOUT_MS + 2_000);
      expect(fake.requests.length - before).toBe(1);

      // During the cool-down: full text alone, the server not asked, nothing more logged.
      before = fake.requests.length;
      expect(titles(await index.search({ orgId, folderIds: [folder] }, "Refund of a returned order?"))).toEqual(["Refunds"]);
      expect(titles(await index.search({ orgId, folderIds: [folder] }, "Can I return my order for a refund?"))).toEqual(["Refunds"]);
      // A document posted as JSON is stored for full text at once; the backfill embeds it later.
      const posted = await index.addDocument(folder, "Returns", "# Returns\n\nReturn an order within 30 days.");
      expect(fake.requests.length - before).toBe(0);
      expect(await db.prisma.passage.count({ where: { documentId: posted.id, embeddingModel: null } })).toBe(1);
      expect(logs.map((l) => l.msg)).toEqual([expect.stringMatching(/full-text search only/)]);
    } finally {
      fake.release();
    }
  });

  it("posts a document within the short timeout while the server hangs, indexed for full text", async () => {
    const folder = await folderOf("Hanging post");
    const index = indexWith({ queryTimeoutMs: QUERY_TIMEOUT_MS, coolDownMs: 60_000 });
    fake.hold();
    try {
      const started = Date.now();
      const posted = await index.addDocument(folder, "Refunds", REFUNDS);
      expect(Date.now() - started).toBeLessThan(QUERY_TIMEOUT_MS + 2_000);
      expect(await vectors(folder)).toEqual([{ dims: null, model: null }]);
      expect(titles(await index.search({ orgId, folderIds: [folder] }, "refund for my order"))).toEqual([posted.title]);
    } finally {
      fake.release();
    }
  });

  // Last: it moves every passage of this database to another model.
  it("re-embeds passages of another model, refused ones too, and compares only vectors of the configured model", async () => {
    const folder = await folderOf("Models");
    const v1 = indexWith();
    await v1.addDocument(folder, "Oeffnungszeiten", GERMAN_HOURS);
    fake.refuseLongerThan(80);
    try {
      await v1.addDocument(folder, "Long", `# Long\n\n${"Our refund policy covers every order placed in the shop. ".repeat(3)}`);
      await v1.backfillEmbeddings();
    } finally {
      fake.refuseLongerThan(null);
    }
    expect(await vectors(folder)).toEqual([
      { dims: FAKE_DIMENSIONS, model: "fake-v1" },
      { dims: 0, model: "fake-v1" },
    ]);
    const question = "What are your opening hours?";
    expect(titles(await v1.search({ orgId, folderIds: [folder] }, question))).toEqual(["Oeffnungszeiten"]);

    // The fake's vectors are the same for any model: only the model stored with them keeps them apart.
    const v2 = indexWith({ model: "fake-v2" });
    expect(await v2.search({ orgId, folderIds: [folder] }, question)).toEqual([]);
    const [{ n: all }] = await db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM passages`;
    expect(await v2.backfillEmbeddings()).toBe(all);
    expect(await v2.backfillEmbeddings()).toBe(0);
    expect(await db.prisma.passage.count({ where: { NOT: { embeddingModel: "fake-v2" } } })).toBe(0);
    expect(await vectors(folder)).toEqual([
      { dims: FAKE_DIMENSIONS, model: "fake-v2" },
      { dims: FAKE_DIMENSIONS, model: "fake-v2" },
    ]);
    expect(titles(await v2.search({ orgId, folderIds: [folder] }, question))).toEqual(["Oeffnungszeiten"]);
    expect(await v1.search({ orgId, folderIds: [folder] }, question)).toEqual([]);
  });
});
