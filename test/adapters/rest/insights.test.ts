import { addOperator, asOperator, signIn } from "../../support/console";
import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";
import { seedConversation } from "../../support/insights";
import { createTestOrg, type TestOrg } from "../../support/orgs";

// Insights over a seeded set of conversations whose numbers are known: three days of November, two channels.
const TRICKY = 'He said "no", then, left\nbye';

describe.each(DB_KINDS)("insights and the feedback export (/api/console/insights, /api/console/feedback.csv) (%s)", (kind) => {
  let hub: TestHub;
  let a: TestOrg;
  let b: TestOrg;

  beforeAll(async () => {
    hub = await startTestHub(kind);
    a = await createTestOrg(hub, "A");
    b = await createTestOrg(hub, "B");
    const widget = await seedConversation(hub, a.orgId, "w1", "ws", [
      { q: "Where is my order?", at: "2026-11-10T10:00:00Z", replyMs: 1000 },
      { q: "How long is the warranty?", at: "2026-11-10T10:05:00Z", replyMs: 3000, cited: true },
    ]);
    await seedConversation(
      hub,
      a.orgId,
      "whatsapp_+1",
      "whatsapp",
      [{ q: "where   is my order", at: "2026-11-11T09:00:00Z", replyMs: 2000 }],
      {
        lastHandoffAt: new Date("2026-11-11T09:00:03Z"),
      },
    );
    await seedConversation(hub, a.orgId, "whatsapp_+2", "whatsapp", [
      { q: "WHERE IS MY ORDER ?!", at: "2026-11-12T23:59:00Z", replyMs: 5000 },
      { q: "hello", at: "2026-11-12T23:59:30Z", replyMs: 9000, error: "assistant unavailable" },
    ]);
    // Outside the period: a conversation of October, handed off then.
    await seedConversation(hub, a.orgId, "old", "ws", [{ q: "Where is my order?", at: "2026-10-01T10:00:00Z", replyMs: 100 }], {
      lastHandoffAt: new Date("2026-10-01T10:00:00Z"),
    });
    await widget.rate(0, "down", TRICKY, "2026-11-10T10:01:00Z");
    await widget.rate(1, "up", '=HYPERLINK("http://evil")', "2026-11-10T10:06:00Z");
    // B's own, which A must not see, nor B see A's.
    const theirs = await seedConversation(hub, b.orgId, "b1", "ws", [
      { q: "B's secret question", at: "2026-11-11T10:00:00Z", replyMs: 50 },
    ]);
    await theirs.rate(0, "down", "B's comment", "2026-11-11T10:01:00Z");
  });
  afterAll(() => hub?.stop());

  const PERIOD = "from=2026-11-10&to=2026-11-12";

  it("computes turns by day and channel, response times, handoff rate, unanswered questions and thumbs for the period", async () => {
    const res = await a.api(`/api/console/insights?${PERIOD}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      from: "2026-11-10",
      to: "2026-11-12",
      turnsByDay: [
        { day: "2026-11-10", channel: "ws", turns: 2 },
        { day: "2026-11-11", channel: "whatsapp", turns: 1 },
        { day: "2026-11-12", channel: "whatsapp", turns: 2 },
      ],
      turns: 5,
      // 1, 2, 3 and 5 seconds (the failed reply aside): the median between 2 and 3, p95 interpolated.
      responseMs: { p50: 2500, p95: 4700, replies: 4 },
      handoff: { conversations: 3, handedOff: 1, rate: 1 / 3 },
      unanswered: [{ question: expect.stringMatching(/^where +is my order/i), count: 3, lastAskedAt: "2026-11-12T23:59:00.000Z" }],
      feedback: { up: 1, down: 1, upRate: 0.5 },
    });
  });

  it("lets an agent of the org read them with the console's cookie", async () => {
    const agent = await addOperator(hub, a.orgId, "agent");
    const { cookie } = await signIn(hub, agent.email);
    const res = await asOperator(hub, cookie)(`/api/console/insights?${PERIOD}`);
    expect(res.status).toBe(200);
    expect(res.body.turns).toBe(5);
  });

  it("shows another org none of it, by key or by operator", async () => {
    const admin = await addOperator(hub, b.orgId, "admin");
    const { cookie } = await signIn(hub, admin.email);
    for (const api of [b.api, asOperator(hub, cookie)]) {
      const res = await api(`/api/console/insights?${PERIOD}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        turnsByDay: [{ day: "2026-11-11", channel: "ws", turns: 1 }],
        handoff: { conversations: 1, handedOff: 0 },
        unanswered: [{ question: "B's secret question", count: 1 }],
        feedback: { up: 0, down: 1 },
      });
      const csv = await api(`/api/console/feedback.csv?${PERIOD}`);
      expect(csv.body).not.toContain("Where is my order");
      expect(csv.body).toContain("B's comment");
    }
  });

  it("exports the feedback as CSV with the question, the reply, rating, comment, channel and time, quoted where needed", async () => {
    const res = await fetch(`${hub.url}/api/console/feedback.csv?${PERIOD}`, { headers: { authorization: `Bearer ${a.key}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="feedback-2026-11-10-to-2026-11-12.csv"');
    const text = (await res.text()).replace(/^\ufeff/, "");
    const lines = text.split("\r\n");
    expect(lines[0]).toBe("time,channel,rating,comment,question,reply,conversation");
    // The comment's quotes doubled, the field quoted for its commas and line break; the formula defused.
    expect(text).toContain(
      `2026-11-10T10:01:00.000Z,ws,down,"He said ""no"", then, left\nbye",Where is my order?,Answer to Where is my order?,`,
    );
    expect(text).toContain(`2026-11-10T10:06:00.000Z,ws,up,"'=HYPERLINK(""http://evil"")",How long is the warranty?,`);
    expect(text.endsWith("\r\n")).toBe(true);
    expect(text.split("\r\n").filter(Boolean)).toHaveLength(3);
  });

  it("exports every row once across its pages, rows of one instant included", async () => {
    const prisma = hub.runtime.db.prisma;
    const c = await createTestOrg(hub, "C");
    const { conversation, session } = await seedConversation(hub, c.orgId, "many", "ws", [
      { q: "hi", at: "2026-11-11T08:00:00Z", replyMs: 1 },
    ]);
    const ids = Array.from({ length: 1001 }, () => crypto.randomUUID());
    const when = new Date("2026-11-11T09:00:00Z");
    await prisma.message.createMany({
      data: ids.map((id) => ({
        id,
        conversationId: conversation.id,
        role: "assistant",
        content: "answer",
        status: "sent",
        createdAt: when,
      })),
    });
    await prisma.feedback.createMany({
      data: ids.map((messageId, i) => ({
        orgId: c.orgId,
        conversationId: conversation.id,
        sessionId: session.id,
        messageId,
        rating: "up",
        comment: `n${i}`,
        updatedAt: when,
      })),
    });
    const csv: string = (await c.api(`/api/console/feedback.csv?${PERIOD}`)).body;
    const comments = csv
      .split("\r\n")
      .slice(1, -1)
      .map((line) => line.split(",")[3]);
    expect(comments).toHaveLength(1001);
    expect(new Set(comments).size).toBe(1001);
  });

  it("refuses a malformed or too long period, and anyone not signed in", async () => {
    expect((await a.api("/api/console/insights?from=yesterday")).body).toMatchObject({
      error: "invalid_message",
      issues: [{ field: "from" }],
    });
    expect((await a.api("/api/console/insights?from=2024-01-01&to=2026-01-01")).status).toBe(400);
    expect((await a.api("/api/console/insights?from=2026-11-12&to=2026-11-10")).status).toBe(400);
    const anonymous = await hub.api("/api/console/feedback.csv", { headers: { authorization: "" } });
    expect(anonymous).toMatchObject({ status: 401, body: { error: "unauthorized" } });
  });
});
