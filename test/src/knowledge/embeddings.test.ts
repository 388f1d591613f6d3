import type { Database } from "../../../src/db/database";
import { Embeddings } from "../../../src/knowledge/embeddings";
import { KnowledgeIndex } from "../../../src/knowledge/index";
import { FAKE_DIMENSIONS, type FakeEmbeddings, startFakeEmbeddings } from "../../fakes/embeddings";
import { DB_KINDS, openTestDatabase } from "../../support/databases";

const GERMAN_HOURS = "# Öffnungszeiten\n\nMontag bis Freitag von 9 bis 18 Uhr, samstags von 10 bis 14 Uhr.";
const PASSWORDS = `# Passwords

To reset your password, open the login page, click "Forgot password" and follow the link we email you.`;

describe.each(DB_KINDS)("KnowledgeIndex with embeddings (%s)", (kind) => {
  let db: Database;
  let fake: FakeEmbeddings;
  let index: KnowledgeIndex;
  let embeddings: Embeddings;
  let orgId: string;
  // An index of its own for a test that fails the server: a question or posted document that fails starts a
  // cool-down of its embeddings client, which would keep the shared one from searching by meaning.
  const ownIndex = () =>
    new KnowledgeIndex(db.prisma, {
      embeddings: new Embeddings({ baseUrl: fake.url, model: "fake-multilingual", batchSize: 2, maxRetries: 2, retryBaseMs: 10 }),
      minSimilarity: 0.3,
    });
  const folderOf = async (name: string) => (await db.prisma.folder.create({ data: { orgId, name } })).id;
  const unembedded = async (folderId: string) => {
    const [row] = await db.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM passages WHERE folder_id = ${folderId}::uuid AND embedding IS NULL`;
    return row.n;
  };

  beforeAll(async () => {
    fake = await startFakeEmbeddings();
    db = await openTestDatabase(kind);
    embeddings = new Embeddings({ baseUrl: fake.url, model: "fake-multilingual", batchSize: 2, maxRetries: 2, retryBaseMs: 10 });
    index = new KnowledgeIndex(db.prisma, { embeddings, minSimilarity: 0.3 });
    orgId = (await db.prisma.org.create({ data: { name: "Hybrid" } })).id;
  });
  afterAll(async () => {
    await db?.close();
    await fake?.close();
  });

  it("compares vectors with pgvector where the database has it, else as plain arrays", async () => {
    const [server] = await db.prisma.$queryRaw<{ has: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS has`;
    // PGlite ships pgvector; the Postgres server of these tests has none installed.
    expect(await index.storage()).toBe(kind === "pglite" ? "pgvector" : server.has ? "pgvector" : "array");
  });

  it("embeds a document's passages in batches when it is indexed, as unit vectors", async () => {
    const folder = await folderOf("Batches");
    const before = fake.requests.length;
    const doc = await index.addDocument(folder, "Three", "# One\n\nFirst part.\n\n# Two\n\nSecond part.\n\n# Three\n\nThird part.");
    expect(doc.passages).toBe(3);
    expect(fake.requests.slice(before).map((input) => input.length)).toEqual([2, 1]);
    const passages = await db.prisma.passage.findMany({ where: { documentId: doc.id } });
    for (const p of passages) {
      expect(p.embedding).toHaveLength(FAKE_DIMENSIONS);
      expect(Math.hypot(...p.embedding)).toBeCloseTo(1, 5);
    }
  });

  it("tries the embeddings server again when indexing for the ingest worker, but once for a document posted as JSON", async () => {
    const folder = await folderOf("Retries");
    const doc = await db.prisma.document.create({ data: { folderId: folder, title: "Worker", content: "", status: "processing" } });
    fake.failNext(1);
    await index.indexDocument(doc.id, folder, "# Worker\n\nIndexed by the ingest worker.");
    expect(await unembedded(folder)).toBe(0);

    fake.failNext(1);
    await ownIndex().addDocument(folder, "Posted", "# Posted\n\nPosted through the API, someone waiting.");
    expect(await unembedded(folder)).toBe(1);
  });

  it("finds a passage written in another language by meaning, in the org's folders only", async () => {
    const folder = await folderOf("Hours");
    await index.addDocument(folder, "Oeffnungszeiten", GERMAN_HOURS);
    const rival = await db.prisma.org.create({ data: { name: "Rival" } });
    const theirs = await db.prisma.folder.create({ data: { orgId: rival.id, name: "Hours" } });
    await index.addDocument(theirs.id, "Rival_Hours", GERMAN_HOURS);

    const found = await index.search({ orgId }, "What are your opening hours?");
    expect(found.map((p) => p.documentTitle)).toEqual(["Oeffnungszeiten"]);
    // The same by plain arrays, on a database that has pgvector too.
    const arrays = new KnowledgeIndex(db.prisma, { embeddings, minSimilarity: 0.3, vectorStore: "array" });
    expect(await arrays.storage()).toBe("array");
    const byArrays = await arrays.search({ orgId }, "What are your opening hours?");
    expect(byArrays.map((p) => p.documentTitle)).toEqual(["Oeffnungszeiten"]);
    expect(byArrays[0].rank).toBeCloseTo(found[0].rank, 6);
    // Full text alone cannot: no word of the English question is in the German passage.
    expect(await new KnowledgeIndex(db.prisma).search({ orgId }, "What are your opening hours?")).toEqual([]);
  });

  it("ranks first the passage both searches find", async () => {
    const folder = await folderOf("Refunds");
    await index.addDocument(folder, "Reembolsos", "# Reembolso\n\nO reembolso é feito em até 10 dias após recebermos a devolução.");
    await index.addDocument(folder, "Refunds", "# Refunds\n\nWe refund your order within 10 days of receiving the return.");
    const found = await index.search({ orgId, folderIds: [folder] }, "How do I get a refund for my order?");
    expect(found.map((p) => p.documentTitle)).toEqual(["Refunds", "Reembolsos"]);
    expect(found[0].rank).toBeGreaterThan(found[1].rank);
  });

  it("still finds nothing when nothing is relevant, by words or by meaning", async () => {
    const folder = await folderOf("Passwords");
    await index.addDocument(folder, "Password_Policy_v2", PASSWORDS);
    expect(await index.search({ orgId, folderIds: [folder] }, "What are your opening hours?")).toEqual([]);
    expect((await index.search({ orgId, folderIds: [folder] }, "Como redefinir a senha?")).map((p) => p.documentTitle)).toEqual([
      "Password_Policy_v2",
    ]);
  });

  it("indexes for full text while the embeddings server is down, and fills the vectors in later", async () => {
    const folder = await folderOf("Outage");
    const outage = ownIndex();
    fake.down();
    try {
      const doc = await outage.addDocument(folder, "Stundenplan", GERMAN_HOURS);
      expect(doc.passages).toBe(1);
      expect(await unembedded(folder)).toBe(1);
      // Searchable at once, by its words: German full text needs no vectors.
      expect((await outage.search({ orgId, folderIds: [folder] }, "Öffnungszeiten am Samstag?")).map((p) => p.documentTitle)).toEqual([
        "Stundenplan",
      ]);
      expect(await outage.search({ orgId, folderIds: [folder] }, "When are you open? Opening hours?")).toEqual([]);
      await expect(outage.backfillEmbeddings()).rejects.toThrow(/503/);
    } finally {
      fake.up();
    }

    expect(await index.backfillEmbeddings()).toBeGreaterThanOrEqual(1);
    expect(await unembedded(folder)).toBe(0);
    expect(await index.backfillEmbeddings()).toBe(0);
    expect((await index.search({ orgId, folderIds: [folder] }, "When are you open? Opening hours?")).map((p) => p.documentTitle)).toEqual([
      "Stundenplan",
    ]);
  });

  it("skips, for good, a passage the server refuses, and embeds the others of its batch", async () => {
    const folder = await folderOf("Refused");
    fake.refuseLongerThan(80);
    try {
      const long = `# Long\n\n${"Our refund policy covers every order placed in the shop. ".repeat(3)}`;
      await index.addDocument(folder, "Mixed", `# Short\n\nRefunds in ten days.\n\n${long}`);
      expect(await unembedded(folder)).toBe(2);
      expect(await index.backfillEmbeddings()).toBe(2);
    } finally {
      fake.refuseLongerThan(null);
    }
    const rows = await db.prisma.$queryRaw<{ heading: string; dims: number }[]>`
      SELECT split_part(content, E'\n', 1) AS heading, coalesce(cardinality(embedding), -1) AS dims
      FROM passages WHERE folder_id = ${folder}::uuid ORDER BY position`;
    expect(rows).toEqual([
      { heading: "# Short", dims: FAKE_DIMENSIONS },
      { heading: "# Long", dims: 0 },
    ]);
    expect(await index.backfillEmbeddings()).toBe(0);
    expect((await index.search({ orgId, folderIds: [folder] }, "refund policy for every order")).map((p) => p.documentTitle)).toContain(
      "Mixed",
    );
  });
});
