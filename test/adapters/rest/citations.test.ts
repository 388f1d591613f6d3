import { type FakeEmbeddings, startFakeEmbeddings } from "../../fakes/embeddings";
import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { parseSse } from "../../support/sse";

// The whole hub, with the fake embeddings server configured: a reply names the passages it drew on (stored on
// the message, returned by the Conversation Service), and passages indexed while the embeddings server was
// away get their vectors from the sweeper.
describe.each(DB_KINDS)("replies cite their knowledge (%s)", (kind) => {
  let hub: TestHub;
  let fake: FakeEmbeddings;
  let folderId: string;
  let session: string;
  const q = (path: string, extra = "") => `/api/conversation/${path}?org_id=${hub.orgId}${extra}`;

  beforeAll(async () => {
    fake = await startFakeEmbeddings();
    hub = await startTestHub(kind, { EMBEDDINGS_BASE_URL: fake.url, EMBEDDINGS_MODEL: "fake", SWEEP_INTERVAL_MS: "200" });
    folderId = (await hub.api("/api/folders", { body: { name: "Help" } })).body.id;
    const conversation = (await hub.api(q("create"), { body: { title: "Citations" } })).body;
    const assistant = (await hub.api("/api/assistants/default")).body.id;
    session = (await hub.api(q("create_session"), { body: { conversation_id: conversation.id, model_id: assistant } })).body.id;
  });
  afterAll(async () => {
    await hub?.stop();
    await fake?.close();
  });

  /** A web page's document, indexed as the ingest worker indexes it. */
  async function indexPage(title: string, url: string, markdown: string) {
    const prisma = hub.runtime.db.prisma;
    const doc = await prisma.document.create({
      data: { folderId, title, content: "", status: "processing", format: "url", sourceUrl: url },
    });
    await hub.runtime.knowledge.indexDocument(doc.id, folderId, markdown);
    return doc.id;
  }

  async function ask(message: string) {
    const res = await fetch(`${hub.url}${q("stream_chat")}`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.key}`, "content-type": "application/json" },
      body: JSON.stringify({ chat_session_id: session, message }),
    });
    expect(res.status).toBe(200);
    const end = parseSse(await res.text()).at(-1);
    expect(end?.event).toBe("end");
    return end?.data;
  }

  it("stores the sources a reply drew on with the reply, and returns them with its messages", async () => {
    const documentId = await indexPage("Returns", "https://shop.example/returns", "# Returns\n\nWe refund returned orders within 10 days.");
    const end = await ask("Do you refund returned orders?");
    const citation = { documentId, title: "Returns", heading: "Returns", page: null, url: "https://shop.example/returns" };
    expect(end.content).toContain("We refund returned orders within 10 days.");
    expect(end.citations).toEqual([citation]);

    const stored = await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id: end.message_id } });
    expect(stored.citations).toEqual([citation]);
    expect(stored.sources).toEqual(["Returns"]);
    const messages = (await hub.api(q("messages", `&conversation_id=${stored.conversationId}`))).body;
    expect(messages.find((m: { id: string }) => m.id === end.message_id)).toMatchObject({ role: "assistant", citations: [citation] });
    expect(messages.find((m: { role: string }) => m.role === "user")).toMatchObject({ citations: [] });
  });

  it("answers that nothing covers a question no passage is relevant to, and cites nothing", async () => {
    const end = await ask("What are your opening hours?");
    expect(end.content).toMatch(/Nothing in .* knowledge base covers that question/);
    expect(end.citations).toEqual([]);
  });

  it("fills in the vectors of passages indexed while the embeddings server was down, then finds them by meaning", async () => {
    fake.down();
    let documentId: string;
    try {
      documentId = await indexPage(
        "Öffnungszeiten",
        "https://shop.example/de/zeiten",
        "# Öffnungszeiten\n\nMontag bis Freitag von 9 bis 18 Uhr.",
      );
    } finally {
      fake.up();
    }
    const unembedded = () =>
      hub.runtime.db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM passages WHERE document_id = ${documentId}::uuid AND embedding IS NULL`.then(([r]) => r.n);
    await waitFor(async () => (await unembedded()) === 0, 60_000, "the sweeper to embed the passage");

    const end = await ask("What are your opening hours?");
    expect(end.content).toContain("Montag bis Freitag von 9 bis 18 Uhr.");
    expect(end.citations).toEqual([
      { documentId, title: "Öffnungszeiten", heading: "Öffnungszeiten", page: null, url: "https://shop.example/de/zeiten" },
    ]);
  });
});
