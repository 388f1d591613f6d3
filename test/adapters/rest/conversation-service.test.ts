import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";
import { clearOfMinuteBoundary, createTestOrg, type TestOrg } from "../../support/orgs";
import { parseSse } from "../../support/sse";

const UNKNOWN = "6f1c1e1e-0000-4000-8000-000000000000";

async function streamChat(hub: TestHub, orgId: string, body: unknown, headers: Record<string, string> = {}, key = hub.key) {
  const res = await fetch(`${hub.url}/api/conversation/stream_chat?org_id=${orgId}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    events: res.ok ? parseSse(text) : [],
    body: res.ok ? null : JSON.parse(text),
  };
}

describe.each(DB_KINDS)("Conversation Service /api/conversation (%s)", (kind) => {
  let hub: TestHub;
  let org: string;
  let defaultAssistant: string;
  const q = (path: string, extra = "") => `/api/conversation/${path}?org_id=${org}${extra}`;
  const create = async (title = "Project Discussion", is_archived?: boolean) =>
    (await hub.api(q("create"), { body: { title, is_archived } })).body;
  const session = async (conversation_id: string, model_id = defaultAssistant) =>
    (await hub.api(q("create_session"), { body: { conversation_id, model_id } })).body;

  beforeAll(async () => {
    hub = await startTestHub(kind);
    org = (await hub.api("/api/me")).body.org_id;
    defaultAssistant = (await hub.api("/api/assistants/default")).body.id;
  });
  afterAll(() => hub?.stop());

  it("GET /api/me tells the key's holder its org_id", async () => {
    const me = await hub.api("/api/me");
    expect(me.body).toEqual({ org_id: hub.orgId, org_name: "Default", key_id: expect.any(String), key_name: "bootstrap" });
  });

  it("creates a conversation, archived only when asked", async () => {
    const res = await hub.api(q("create"), { body: { title: "Project Discussion" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      title: "Project Discussion",
      is_archived: false,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect((await create("Old", true)).is_archived).toBe(true);
  });

  it("creates several chat sessions for one conversation, each with its own assistant, and lists them", async () => {
    const c = await create();
    const sales = (await hub.api("/api/assistants", { body: { name: "sales-model" } })).body;
    const first = await hub.api(q("create_session"), { body: { conversation_id: c.id, model_id: defaultAssistant } });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: expect.any(String),
      conversation_id: c.id,
      model_id: defaultAssistant,
      status: "active",
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const second = await session(c.id, sales.id);
    const got = await hub.api(q("get_with_sessions", `&conversation_id=${c.id}`));
    expect(got.body).toMatchObject({ id: c.id, title: "Project Discussion", is_archived: false });
    expect(got.body.chat_sessions.map((s: { id: string; model_id: string }) => [s.id, s.model_id])).toEqual([
      [first.body.id, defaultAssistant],
      [second.id, sales.id],
    ]);

    // A message in each session is a turn for that session's assistant.
    await streamChat(hub, org, { chat_session_id: first.body.id, message: "to the default" });
    await streamChat(hub, org, { chat_session_id: second.id, message: "to sales" });
    const turns = await hub.runtime.db.prisma.message.findMany({ where: { conversationId: c.id, role: "user" }, orderBy: { seq: "asc" } });
    expect(turns.map((t) => [t.sessionId, (t.turnOptions as { assistant: { ref: string } }).assistant.ref])).toEqual([
      [first.body.id, defaultAssistant],
      [second.id, sales.id],
    ]);
  });

  it("streams the answer as start, content chunks and end, and stores it like any reply", async () => {
    const c = await create();
    const s = await session(c.id);
    const res = await streamChat(hub, org, { chat_session_id: s.id, message: "Can you explain how vector databases work?" });
    expect(res.status).toBe(200);
    expect(res.type).toContain("text/event-stream");
    const [start, ...rest] = res.events;
    const end = rest.at(-1);
    expect(start).toEqual({ event: "start", data: { message_id: expect.any(String), conversation_id: c.id, chat_session_id: s.id } });
    expect(end?.event).toBe("end");
    const chunks = rest.filter((e) => e.event === "content").map((e) => e.data.content);
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.join("")).toBe(end?.data.content);

    const messages = (await hub.api(q("messages", `&conversation_id=${c.id}`))).body;
    expect(messages).toEqual([
      expect.objectContaining({ id: start.data.message_id, role: "user", chat_session_id: s.id, conversation_id: c.id }),
      expect.objectContaining({ id: end?.data.message_id, role: "assistant", content: end?.data.content, chat_session_id: s.id }),
    ]);
  });

  it("answers a retried stream_chat with the same Idempotency-Key once, from the stored reply", async () => {
    const s = await session((await create()).id);
    const body = { chat_session_id: s.id, message: "only once" };
    const first = await streamChat(hub, org, body, { "idempotency-key": "cs-1" });
    const again = await streamChat(hub, org, body, { "idempotency-key": "cs-1" });
    expect(again.events[0].data.message_id).toBe(first.events[0].data.message_id);
    expect(again.events.at(-1)?.data).toEqual(first.events.at(-1)?.data);
    expect(await hub.runtime.db.prisma.message.count({ where: { sessionId: s.id } })).toBe(2);
  });

  describe("reads", () => {
    let other: TestOrg;
    let seeded: string;
    beforeAll(async () => {
      other = await createTestOrg(hub, "cs-reads");
      const prisma = hub.runtime.db.prisma;
      const base = Date.now() - 60_000;
      await prisma.conversation.createMany({
        data: Array.from({ length: 25 }, (_, i) => ({
          orgId: other.orgId,
          externalId: `c${i}`,
          channel: "api",
          title: `t${i}`,
          createdAt: new Date(base + i * 1000),
        })),
      });
      const c = await prisma.conversation.findFirstOrThrow({ where: { orgId: other.orgId, externalId: "c0" } });
      seeded = c.id;
      await prisma.message.createMany({
        data: Array.from({ length: 30 }, (_, i) => ({
          conversationId: c.id,
          role: i % 2 ? "assistant" : "user",
          status: "sent",
          content: `m${i}`,
        })),
      });
    });
    const oq = (path: string, extra = "") => `/api/conversation/${path}?org_id=${other.orgId}${extra}`;

    it("lists the org's conversations newest first, 20 by default, with the total in X-Total-Count", async () => {
      const res = await other.api(oq("list"));
      expect(res.body).toHaveLength(20);
      expect(res.body[0].title).toBe("t24");
      expect(res.headers.get("x-total-count")).toBe("25");
      const last = await other.api(oq("list", "&limit=20&offset=20"));
      expect(last.body.map((c: { title: string }) => c.title)).toEqual(["t4", "t3", "t2", "t1", "t0"]);
      expect((await other.api(oq("list", "&offset=25"))).body).toEqual([]);
      expect((await other.api(oq("list", "&limit=100"))).body).toHaveLength(25);
    });

    it("pages messages oldest first: 20 by default, then by offset to an empty page", async () => {
      const page = (extra: string) => other.api(oq("messages", `&conversation_id=${seeded}${extra}`));
      const first = (await page("")).body;
      expect(first.map((m: { content: string }) => m.content)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
      expect((await page("&limit=10&offset=20")).body.map((m: { content: string }) => m.content)).toEqual(
        Array.from({ length: 10 }, (_, i) => `m${20 + i}`),
      );
      expect((await page("&offset=30")).body).toEqual([]);
      expect((await page("&limit=100")).body).toHaveLength(30);
    });

    it("keeps each org's conversations its own: 404 for another org's ids, 403 for another org's org_id", async () => {
      const mine = await create("mine");
      const s = await session(mine.id);
      for (const path of [oq("get_with_sessions", `&conversation_id=${mine.id}`), oq("messages", `&conversation_id=${mine.id}`)]) {
        const res = await other.api(path);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ detail: "Conversation not found" });
      }
      expect((await other.api(oq("create_session"), { body: { conversation_id: mine.id, model_id: "default" } })).status).toBe(404);
      expect((await streamChat(hub, other.orgId, { chat_session_id: s.id, message: "hi" }, {}, other.key)).status).toBe(404);
      expect((await other.api(oq("list", "&limit=100"))).body.map((c: { id: string }) => c.id)).not.toContain(mine.id);

      for (const [method, path, body] of [
        ["GET", q("list")],
        ["GET", q("messages", `&conversation_id=${mine.id}`)],
        ["GET", q("get_with_sessions", `&conversation_id=${mine.id}`)],
        ["POST", q("create"), { title: "intrusion" }],
        ["POST", q("create_session"), { conversation_id: mine.id, model_id: "default" }],
        ["POST", q("stream_chat"), { chat_session_id: s.id, message: "intrusion" }],
      ] as const) {
        const res = await other.api(path, { method, body });
        expect(res.status).toBe(403);
        expect(res.body.detail).toEqual(expect.any(String));
      }
      expect(await hub.runtime.db.prisma.message.count({ where: { content: "intrusion" } })).toBe(0);
    });
  });

  describe("errors", () => {
    it.each([
      ["no org_id", () => "/api/conversation/list", undefined],
      ["no title", () => q("create"), {}],
      ["a title that is not a string", () => q("create"), { title: 5 }],
      [
        "a conversation_id that is not a UUID",
        () => q("create_session"),
        { conversation_id: "5a7e8f91-2b3c-4d5e-6f7g-8h9i0j1k2l3m", model_id: "default" },
      ],
      ["no model_id", () => q("create_session"), { conversation_id: UNKNOWN }],
      ["an empty message", () => q("stream_chat"), { chat_session_id: UNKNOWN, message: " " }],
      ["malformed JSON", () => q("create"), "{nope"],
    ])("400 with detail and issues for %s", async (_name, path, body) => {
      const res = await hub.api(path(), { body, method: body === undefined ? "GET" : "POST" });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ detail: expect.any(String), issues: expect.any(Array) });
    });

    it.each([
      ["limit above 100", "&limit=101"],
      ["a negative offset", "&offset=-1"],
      ["no conversation_id", ""],
    ])("400 for messages with %s", async (_name, extra) => {
      const c = await create();
      const res = await hub.api(q("messages", extra === "" ? "" : `&conversation_id=${c.id}${extra}`));
      expect(res.status).toBe(400);
    });

    it("401 without a valid token", async () => {
      for (const authorization of ["", "Bearer YOUR_TOKEN"]) {
        const res = await hub.api(q("list"), { headers: { authorization } });
        expect(res.status).toBe(401);
        expect(res.body.detail).toEqual(expect.any(String));
      }
    });

    it("404 for a conversation, model or chat session that doesn't exist", async () => {
      const c = await create();
      const undeployed = (await hub.api("/api/assistants", { body: { name: "retired", deployed: false } })).body;
      for (const res of [
        await hub.api(q("get_with_sessions", `&conversation_id=${UNKNOWN}`)),
        await hub.api(q("messages", `&conversation_id=${UNKNOWN}`)),
        await hub.api(q("create_session"), { body: { conversation_id: UNKNOWN, model_id: "default" } }),
        await hub.api(q("create_session"), { body: { conversation_id: c.id, model_id: "no-such-model" } }),
        await hub.api(q("create_session"), { body: { conversation_id: c.id, model_id: undeployed.id } }),
        await hub.api(q("stream_chat"), { body: { chat_session_id: UNKNOWN, message: "hi" } }),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body.detail).toEqual(expect.any(String));
      }
    });
  });
});

describe("Conversation Service rate limit (pglite)", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("pglite", { RATE_LIMIT_PER_MINUTE: "1" });
  });
  afterAll(() => hub?.stop());

  it("429 with detail past the messages limit, before any stream starts", async () => {
    await clearOfMinuteBoundary();
    const org = hub.orgId;
    const c = (await hub.api(`/api/conversation/create?org_id=${org}`, { body: { title: "busy" } })).body;
    const s = (await hub.api(`/api/conversation/create_session?org_id=${org}`, { body: { conversation_id: c.id, model_id: "default" } }))
      .body;
    expect((await streamChat(hub, org, { chat_session_id: s.id, message: "one" })).status).toBe(200);
    const limited = await streamChat(hub, org, { chat_session_id: s.id, message: "two" });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ detail: "Rate limit exceeded" });
  });
});
