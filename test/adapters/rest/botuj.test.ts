import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";
import { createTestOrg, type TestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";

const PATH = "/v1/api/conversations";

describe.each(DB_KINDS)("botuj GET /v1/api/conversations (%s)", (kind) => {
  let hub: TestHub;
  let org: TestOrg;
  beforeAll(async () => {
    hub = await startTestHub(kind);
    org = await createTestOrg(hub, "botuj");
  });
  afterAll(() => hub?.stop());

  it("shows each conversation exactly as the document does", async () => {
    const ask = await org.api("/api/ai-hub/assistant/ask", {
      body: { message: { content: "Hej" }, id: "tC4lQY781a207d", assistantId: "default", metadata: { channel: "freeshot" } },
    });
    expect(ask.status).toBe(200);
    await org.api("/api/ai-hub/assistant/ask", { body: { message: { content: "Dzięki" }, id: "tC4lQY781a207d", assistantId: "default" } });
    const res = await org.api(PATH);
    expect(res.status).toBe(200);
    const [c] = res.body;
    expect(Object.keys(c).sort()).toEqual(["count", "createdOn", "firstBotMessage", "firstUserMessage", "id", "sessionid", "type"]);
    const stored = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { orgId: org.orgId, externalId: "tC4lQY781a207d" } });
    expect(c).toEqual({
      id: stored.number,
      type: "freeshot",
      count: 4,
      sessionid: "tC4lQY781a207d",
      firstUserMessage: "Hej",
      firstBotMessage: JSON.stringify({ message: ask.body.message.content }),
      createdOn: stored.createdAt.toISOString(),
    });
    expect(JSON.parse(c.firstBotMessage)).toEqual({ message: ask.body.message.content });
  });

  it("gives null for a first bot message not yet written, and counts only what is stored", async () => {
    const other = await createTestOrg(hub, "botuj-pending");
    const prisma = hub.runtime.db.prisma;
    const c = await prisma.conversation.create({ data: { orgId: other.orgId, externalId: "only-user", channel: "whatsapp" } });
    await prisma.message.create({ data: { conversationId: c.id, role: "user", content: "hello?", status: "failed" } });
    expect((await other.api(PATH)).body).toEqual([
      expect.objectContaining({ type: "whatsapp", count: 1, firstUserMessage: "hello?", firstBotMessage: null }),
    ]);
  });

  describe("pagination", () => {
    let paged: TestOrg;
    beforeAll(async () => {
      paged = await createTestOrg(hub, "botuj-pages");
      await hub.runtime.db.prisma.conversation.createMany({
        data: Array.from({ length: 45 }, (_, i) => ({ orgId: paged.orgId, externalId: `s${i}`, channel: "api" })),
      });
    });

    it("defaults to page 1 of 20, newest first, with the total and links in headers", async () => {
      const res = await paged.api(PATH);
      expect(res.body).toHaveLength(20);
      expect(res.body[0].sessionid).toBe("s44");
      const ids = res.body.map((c: { id: number }) => c.id);
      expect([...ids].sort((a, b) => b - a)).toEqual(ids);
      expect(res.headers.get("x-total-count")).toBe("45");
      expect(res.headers.get("link")).toContain(`<${PATH}?page=2&per_page=20>; rel="next"`);
      expect(res.headers.get("link")).toContain(`<${PATH}?page=3&per_page=20>; rel="last"`);
    });

    it("pages through every conversation once, to a short last page and an empty one after it", async () => {
      const pages = await Promise.all([1, 2, 3, 4].map((page) => paged.api(`${PATH}?page=${page}&per_page=20`)));
      expect(pages.map((p) => p.body.length)).toEqual([20, 20, 5, 0]);
      const seen = pages.flatMap((p) => p.body.map((c: { sessionid: string }) => c.sessionid));
      expect(new Set(seen).size).toBe(45);
      expect(pages[2].headers.get("link")).not.toContain('rel="next"');
    });

    it("takes per_page up to 100", async () => {
      expect((await paged.api(`${PATH}?per_page=100`)).body).toHaveLength(45);
      expect((await paged.api(`${PATH}?page=2&per_page=40`)).body.map((c: { sessionid: string }) => c.sessionid)).toEqual([
        "s4",
        "s3",
        "s2",
        "s1",
        "s0",
      ]);
    });

    it.each([
      ["per_page above 100", "?per_page=101", "per_page"],
      ["per_page 0", "?per_page=0", "per_page"],
      ["page 0", "?page=0", "page"],
      ["a page that is not a number", "?page=two", "page"],
    ])("refuses %s with 400", async (_name, query, field) => {
      const res = await paged.api(`${PATH}${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: expect.any(String), issues: [expect.objectContaining({ field })] });
    });
  });

  it("lists only the key's org", async () => {
    const a = await createTestOrg(hub, "botuj-a");
    const b = await createTestOrg(hub, "botuj-b");
    await a.api("/api/conversations/start", { body: { bot_id: "default", initial_message: "a's secret" } });
    await waitFor(async () => (await a.api(PATH)).body[0]?.count === 2);
    expect((await b.api(PATH)).body).toEqual([]);
    expect((await b.api(PATH)).headers.get("x-total-count")).toBe("0");
  });

  it("refuses a missing or unknown key with 401", async () => {
    for (const authorization of ["", "Bearer TWOJ_KLUCZ_API"]) {
      const res = await hub.api(PATH, { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(res.body.error).toEqual(expect.any(String));
    }
  });
});
