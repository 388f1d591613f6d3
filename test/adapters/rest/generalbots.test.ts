import { randomUUID } from "node:crypto";
import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";
import { clearOfMinuteBoundary, createTestOrg, freshKey, type TestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";

const UNKNOWN = "6f1c1e1e-0000-4000-8000-000000000000";

/** A conversation with `n` stored messages, one second apart, oldest `n` seconds ago: m0 (user), m1 (assistant), … */
async function seed(hub: TestHub, orgId: string, externalId: string, n: number) {
  const prisma = hub.runtime.db.prisma;
  const c = await prisma.conversation.create({ data: { orgId, externalId, channel: "api" } });
  const base = Date.now() - n * 1000;
  await prisma.message.createMany({
    data: Array.from({ length: n }, (_, i) => ({
      conversationId: c.id,
      role: i % 2 ? "assistant" : "user",
      status: i % 2 ? "sent" : "answered",
      content: `m${i}`,
      createdAt: new Date(base + i * 1000),
    })),
  });
  return c;
}

describe.each(DB_KINDS)("General Bots conversations API (%s)", (kind) => {
  let hub: TestHub;
  let other: TestOrg;
  beforeAll(async () => {
    hub = await startTestHub(kind);
    other = await createTestOrg(hub);
  });
  afterAll(() => hub?.stop());

  const history = async (id: string, query = "") => (await hub.api(`/api/conversations/${encodeURIComponent(id)}/history${query}`)).body;
  const replied = (id: string, n: number) =>
    waitFor(async () => {
      const h = await history(id);
      return h.messages.filter((m: { sender: string }) => m.sender === "bot").length >= n && h;
    });

  it("starts a conversation whose initial message the bot answers, and shows both in history", async () => {
    const res = await hub.api("/api/conversations/start", { body: { bot_id: "default", initial_message: "Hello" } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ conversation_id: expect.any(String), session_id: expect.any(String), status: "active" });
    const h = await replied(res.body.conversation_id, 1);
    expect(h.has_more).toBe(false);
    expect(h.messages.map((m: { sender: string }) => m.sender)).toEqual(["user", "bot"]);
    expect(h.messages[0]).toEqual({ id: expect.any(String), sender: "user", content: "Hello", timestamp: expect.any(String) });
    expect(Date.parse(h.messages[1].timestamp)).not.toBeNaN();
    const stored = await hub.runtime.db.prisma.message.findFirstOrThrow({ where: { id: h.messages[0].id } });
    expect(stored).toMatchObject({ role: "user", status: "answered", sessionId: res.body.session_id });
  });

  it("sends messages as turns: stored, answered in order, returned with message_id, timestamp and status", async () => {
    const { conversation_id: id } = (await hub.api("/api/conversations/start", { body: { bot_id: "default" } })).body;
    const first = await hub.api(`/api/conversations/${id}/messages`, { body: { content: "first", attachments: [] } });
    const second = await hub.api(`/api/conversations/${id}/messages`, { body: { content: "second" } });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ message_id: expect.any(String), timestamp: expect.any(String), status: "delivered" });
    const h = await replied(id, 2);
    const users = h.messages.filter((m: { sender: string }) => m.sender === "user");
    expect(users.map((m: { id: string; content: string }) => [m.id, m.content])).toEqual([
      [first.body.message_id, "first"],
      [second.body.message_id, "second"],
    ]);
    // Replies come in the order the messages were accepted.
    const replies = await hub.runtime.db.prisma.message.findMany({
      where: { conversationId: id, role: "assistant" },
      orderBy: { seq: "asc" },
    });
    expect(replies.map((r) => r.inReplyToId)).toEqual([first.body.message_id, second.body.message_id]);
  });

  it("stores and answers a message once when it is retried with the same Idempotency-Key", async () => {
    const { conversation_id: id } = (await hub.api("/api/conversations/start", { body: { bot_id: "default" } })).body;
    const send = () => hub.api(`/api/conversations/${id}/messages`, { body: { content: "once" }, headers: { "idempotency-key": "k-1" } });
    const first = await send();
    const again = await send();
    expect(again.status).toBe(200);
    expect(again.body.message_id).toBe(first.body.message_id);
    await replied(id, 1);
    const rows = await hub.runtime.db.prisma.message.findMany({ where: { conversationId: id } });
    expect(rows.map((r) => r.role).sort()).toEqual(["assistant", "user"]);
  });

  it("reads a conversation begun on another channel by the id that channel uses", async () => {
    await hub.api("/api/ai-hub/assistant/ask", {
      body: { message: { content: "hi" }, id: "whatsapp_+351900000001", assistantId: "default" },
    });
    const h = await history("whatsapp_+351900000001");
    expect(h.messages.map((m: { sender: string }) => m.sender)).toEqual(["user", "bot"]);
  });

  describe("history paging", () => {
    it("returns the latest 50 oldest-first by default, at most 100, and pages back with before", async () => {
      const c = await seed(hub, hub.orgId, "seeded-120", 120);
      const page = await history(c.id);
      expect(page.messages).toHaveLength(50);
      expect(page.messages[0].content).toBe("m70");
      expect(page.messages.at(-1).content).toBe("m119");
      expect(page.has_more).toBe(true);
      expect((await history(c.id, "?limit=100")).messages).toHaveLength(100);

      const seen: string[] = [];
      let query = "?limit=45";
      for (;;) {
        const p = await history(c.id, query);
        seen.unshift(...p.messages.map((m: { content: string }) => m.content));
        if (!p.has_more) break;
        query = `?limit=45&before=${p.messages[0].id}`;
      }
      expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => `m${i}`));
    });

    it("pages forward from after, and bounds by timestamps", async () => {
      const c = await seed(hub, hub.orgId, "seeded-10", 10);
      const all = (await history(c.id)).messages;
      const fwd = await history(c.id, `?after=${all[2].id}&limit=3`);
      expect(fwd.messages.map((m: { content: string }) => m.content)).toEqual(["m3", "m4", "m5"]);
      expect(fwd.has_more).toBe(true);
      const last = await history(c.id, `?after=${all[6].id}&limit=3`);
      expect(last.messages.map((m: { content: string }) => m.content)).toEqual(["m7", "m8", "m9"]);
      expect(last.has_more).toBe(false);
      const before = await history(c.id, `?before=${encodeURIComponent(all[3].timestamp)}`);
      expect(before.messages.map((m: { content: string }) => m.content)).toEqual(["m0", "m1", "m2"]);
      const between = await history(c.id, `?after=${encodeURIComponent(all[3].timestamp)}&before=${encodeURIComponent(all[6].timestamp)}`);
      expect(between.messages.map((m: { content: string }) => m.content)).toEqual(["m4", "m5"]);
    });

    it("answers an empty conversation with no messages and has_more false", async () => {
      const c = await seed(hub, hub.orgId, "seeded-0", 0);
      expect(await history(c.id)).toEqual({ messages: [], has_more: false });
    });

    it.each([
      ["limit above 100", "?limit=101", "limit"],
      ["limit 0", "?limit=0", "limit"],
      ["limit not a number", "?limit=ten", "limit"],
      ["before not a timestamp", "?before=yesterday", "before"],
      ["before a message of another conversation", `?before=${UNKNOWN}`, "before"],
    ])("refuses %s with 400 invalid_message", async (_name, query, field) => {
      const c = await seed(hub, hub.orgId, `seeded-bad-${randomUUID()}`, 1);
      const res = await hub.api(`/api/conversations/${c.id}/history${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: "invalid_message", issues: [expect.objectContaining({ field })] });
    });
  });

  describe("listing", () => {
    let org: TestOrg;
    let ids: Record<string, string>;
    beforeAll(async () => {
      org = await createTestOrg(hub, "Lister");
      const prisma = hub.runtime.db.prisma;
      const sales = await prisma.assistant.create({ data: { orgId: org.orgId, name: "Sales Bot" } });
      ids = {};
      // Oldest activity first: a1, a2, s1, s2, s3 (s3 archived).
      for (const [name, bot] of [
        ["a1", "default"],
        ["a2", "default"],
        ["s1", sales.id],
        ["s2", "Sales Bot"],
        ["s3", "Sales Bot"],
      ]) {
        const res = await org.api("/api/conversations/start", { body: { bot_id: bot, initial_message: `hello ${name}` } });
        ids[name] = res.body.conversation_id;
        await waitFor(async () => (await prisma.message.count({ where: { conversationId: ids[name], role: "assistant" } })) === 1);
      }
      await org.api(`/api/conversations/${ids.s3}`, { method: "PATCH", body: { status: "archived" } });
    });

    it("lists by latest activity with bot name, last message and total", async () => {
      const res = await org.api("/api/conversations");
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(5);
      expect(res.body.conversations.map((c: { id: string }) => c.id)).toEqual([ids.s3, ids.s2, ids.s1, ids.a2, ids.a1]);
      const s1 = res.body.conversations[2];
      expect(s1).toEqual({
        id: ids.s1,
        bot_id: expect.any(String),
        bot_name: "Sales Bot",
        last_message: expect.any(String),
        last_activity: expect.any(String),
        status: "active",
      });
      const last = await hub.runtime.db.prisma.message.findFirstOrThrow({ where: { conversationId: ids.s1 }, orderBy: { seq: "desc" } });
      expect(s1.last_message).toBe(last.content);
      expect(last.role).toBe("assistant");
    });

    it("filters by bot_id (id or name) and by status", async () => {
      const byName = (await org.api("/api/conversations?bot_id=Sales%20Bot")).body;
      expect(byName.total).toBe(3);
      const byId = (await org.api(`/api/conversations?bot_id=${byName.conversations[0].bot_id}&status=active`)).body;
      expect(byId.conversations.map((c: { id: string }) => c.id)).toEqual([ids.s2, ids.s1]);
      const archived = (await org.api("/api/conversations?status=archived")).body;
      expect(archived).toMatchObject({ total: 1, conversations: [{ id: ids.s3, status: "archived" }] });
      expect((await org.api("/api/conversations?bot_id=nobody")).body).toEqual({ conversations: [], total: 0 });
    });

    it("pages with limit and offset up to an empty page past the end", async () => {
      const first = (await org.api("/api/conversations?limit=2")).body;
      const last = (await org.api("/api/conversations?limit=2&offset=4")).body;
      const past = (await org.api("/api/conversations?limit=2&offset=10")).body;
      expect(first.conversations.map((c: { id: string }) => c.id)).toEqual([ids.s3, ids.s2]);
      expect(last.conversations.map((c: { id: string }) => c.id)).toEqual([ids.a1]);
      expect(past).toEqual({ conversations: [], total: 5 });
    });

    it("returns 20 conversations by default and up to 100 with limit", async () => {
      const many = await createTestOrg(hub, "Many");
      await hub.runtime.db.prisma.conversation.createMany({
        data: Array.from({ length: 105 }, (_, i) => ({ orgId: many.orgId, externalId: `c${i}`, channel: "api" })),
      });
      const page = (await many.api("/api/conversations")).body;
      expect(page.conversations).toHaveLength(20);
      expect(page.total).toBe(105);
      expect(page.conversations[0]).toMatchObject({ bot_id: null, bot_name: null, last_message: null, status: "active" });
      expect((await many.api("/api/conversations?limit=100")).body.conversations).toHaveLength(100);
    });

    it.each([
      ["limit above 100", "?limit=101"],
      ["a negative offset", "?offset=-1"],
      ["an unknown status", "?status=deleted"],
    ])("refuses %s with 400 invalid_message", async (_name, query) => {
      const res = await org.api(`/api/conversations${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("invalid_message");
    });
  });

  it("archives a conversation and restores it", async () => {
    const { conversation_id: id } = (await hub.api("/api/conversations/start", { body: { bot_id: "default" } })).body;
    const archived = await hub.api(`/api/conversations/${id}`, { method: "PATCH", body: { status: "archived" } });
    expect(archived.body).toEqual({ id, status: "archived", archived_at: expect.any(String) });
    expect((await hub.api("/api/conversations?status=active&limit=100")).body.conversations.map((c: { id: string }) => c.id)).not.toContain(
      id,
    );
    const restored = await hub.api(`/api/conversations/${id}`, { method: "PATCH", body: { status: "active" } });
    expect(restored.body).toEqual({ id, status: "active", archived_at: null });
    const bad = await hub.api(`/api/conversations/${id}`, { method: "PATCH", body: { status: "deleted" } });
    expect(bad.status).toBe(400);
  });

  it("serves the same endpoints under the older paths without /api", async () => {
    const start = await hub.api("/conversations/start", { body: { bot_id: "default", initial_message: "old path" } });
    expect(start.status).toBe(201);
    const id = start.body.conversation_id;
    expect((await hub.api(`/conversations/${id}/messages`, { body: { content: "again" } })).status).toBe(201);
    const h = await waitFor(async () => {
      const body = (await hub.api(`/conversations/${id}/history`)).body;
      return body.messages.length === 4 && body;
    });
    expect(h.messages.map((m: { sender: string }) => m.sender).sort()).toEqual(["bot", "bot", "user", "user"]);
    const list = await hub.api("/conversations?limit=100");
    expect(list.body.conversations.map((c: { id: string }) => c.id)).toContain(id);
    expect((await hub.api(`/conversations/${id}`, { method: "PATCH", body: { status: "archived" } })).body.status).toBe("archived");
  });

  describe("errors in the document's table", () => {
    it("400 invalid_message for malformed message content", async () => {
      const { conversation_id: id } = (await hub.api("/api/conversations/start", { body: { bot_id: "default" } })).body;
      for (const body of [{}, { content: "  " }, { content: 5 }, { content: "x", attachments: [{ url: "not a url" }] }, "{nope"]) {
        const res = await hub.api(`/api/conversations/${id}/messages`, { body });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe("invalid_message");
      }
      expect((await hub.api("/api/conversations/start", { body: {} })).body).toMatchObject({
        error: "invalid_message",
        issues: [{ field: "bot_id" }],
      });
    });

    it("401 unauthorized without a valid key", async () => {
      for (const authorization of ["", "Bearer nope"]) {
        const res = await hub.api("/api/conversations", { headers: { authorization } });
        expect(res.status).toBe(401);
        expect(res.body.error).toBe("unauthorized");
      }
    });

    it("403 forbidden for another org's conversation, which stays untouched", async () => {
      const { conversation_id: id } = (
        await other.api("/api/conversations/start", { body: { bot_id: "default", initial_message: "mine" } })
      ).body;
      const calls = [
        hub.api(`/api/conversations/${id}/history`),
        hub.api(`/api/conversations/${id}/messages`, { body: { content: "intrusion" } }),
        hub.api(`/api/conversations/${id}`, { method: "PATCH", body: { status: "archived" } }),
        hub.api(`/conversations/${id}/history`),
      ];
      for (const res of await Promise.all(calls)) {
        expect(res.status).toBe(403);
        expect(res.body.error).toBe("forbidden");
      }
      const list = (await hub.api("/api/conversations?limit=100")).body;
      expect(list.conversations.map((c: { id: string }) => c.id)).not.toContain(id);
      const stored = await hub.runtime.db.prisma.conversation.findUniqueOrThrow({ where: { id }, include: { messages: true } });
      expect(stored.status).toBe("active");
      expect(stored.messages.map((m) => m.content)).not.toContain("intrusion");
    });

    it("404 not_found for a conversation or a bot that doesn't exist", async () => {
      for (const res of [
        await hub.api(`/api/conversations/${UNKNOWN}/history`),
        await hub.api("/api/conversations/no-such-conversation/messages", { body: { content: "hi" } }),
        await hub.api("/api/conversations/start", { body: { bot_id: "nobody" } }),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body.error).toBe("not_found");
      }
    });

    it("429 rate_limited past 30 list and 100 history calls a minute per key, with Retry-After", async () => {
      await clearOfMinuteBoundary();
      const c = await seed(hub, hub.orgId, "rate-limited", 1);
      const api = await freshKey(hub, hub.orgId);
      const lists = await Promise.all(Array.from({ length: 31 }, () => api("/api/conversations?limit=1")));
      expect(lists.filter((r) => r.status === 200)).toHaveLength(30);
      const limited = lists.find((r) => r.status === 429);
      expect(limited?.body).toMatchObject({ error: "rate_limited", retry_after: expect.any(Number) });
      expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
      const histories = await Promise.all(Array.from({ length: 101 }, () => api(`/api/conversations/${c.id}/history?limit=1`)));
      expect(histories.filter((r) => r.status === 200)).toHaveLength(100);
      expect(histories.filter((r) => r.status === 429)).toHaveLength(1);
    });
  });
});

describe("General Bots messages rate limit (pglite)", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("pglite", { RATE_LIMIT_PER_MINUTE: "2" });
  });
  afterAll(() => hub?.stop());

  it("429 rate_limited past the messages limit, and the refused message is not stored", async () => {
    await clearOfMinuteBoundary();
    const { conversation_id: id } = (await hub.api("/api/conversations/start", { body: { bot_id: "default" } })).body;
    const statuses = [];
    for (const content of ["one", "two", "three"]) {
      statuses.push((await hub.api(`/api/conversations/${id}/messages`, { body: { content } })).status);
    }
    expect(statuses).toEqual([201, 201, 429]);
    const stored = await hub.runtime.db.prisma.message.findMany({ where: { conversationId: id, role: "user" } });
    expect(stored.map((m) => m.content).sort()).toEqual(["one", "two"]);
  });
});
