import { randomUUID } from "node:crypto";
import { isUnstorableText } from "../../src/db/database";
import type { InboundMessage } from "../../src/types";
import { startTestHub, type TestHub } from "../support/hub";

// Group commit (src/batch.ts) on the real database: what is submitted in one turn of the event loop goes
// in one batch, so these tests submit together and check what each caller got and what was stored.

describe.each(["postgres", "pglite"] as const)("batched writes and reads (%s)", (kind) => {
  let hub: TestHub;
  // A gateway only: nothing answers the messages these tests store.
  beforeAll(async () => {
    hub = await startTestHub(kind, { ROLE: "gateway" });
  });
  afterAll(() => hub?.stop());

  const inbound = (conversationKey: string, content: string, role: InboundMessage["role"] = "user"): InboundMessage => ({
    orgId: hub.orgId,
    channel: "api",
    conversationKey,
    assistant: { ref: "default" },
    role,
    content,
  });
  const submit = (m: InboundMessage) =>
    hub.runtime.hub.inserts.submit({ id: randomUUID(), m, assistantId: null, options: { assistant: m.assistant } });

  it("a value Postgres refuses fails only its own message; the batch's others are stored once each", async () => {
    // Two messages of one conversation take two statements: the refused one is in the second, after the first
    // committed. Run again one by one, the first must be found, not stored a second time (it has no channel id).
    const results = await Promise.allSettled([
      submit(inbound(`${kind}-bad-a`, "first of a")),
      submit(inbound(`${kind}-bad-a`, "second of a \u0000")),
      submit(inbound(`${kind}-bad-b`, "only of b")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(isUnstorableText((results[1] as PromiseRejectedResult).reason)).toBe(true);
    for (const r of [results[0], results[2]]) expect((r as PromiseFulfilledResult<{ duplicate: boolean }>).value.duplicate).toBe(false);
    const stored = await hub.runtime.db.prisma.message.findMany({
      where: { conversation: { externalId: { in: [`${kind}-bad-a`, `${kind}-bad-b`] } } },
      orderBy: { seq: "asc" },
    });
    expect(stored.map((m) => m.content)).toEqual(["first of a", "only of b"]);
  });

  it("a job reads every unanswered message of its conversation up to its own, however much context follows the first", async () => {
    const key = `${kind}-window`;
    await submit(inbound(key, "earlier context", "system"));
    const first = await submit(inbound(key, "still unanswered"));
    // More context than the history a turn reads (HISTORY_TURNS * 2 = 40 messages).
    for (let i = 0; i < 50; i++) await submit(inbound(key, `context ${i}`, "system"));
    const last = await submit(inbound(key, "the job's own"));
    const { due, history } = await hub.runtime.turns.windows.submit({ conversationId: last.conversationId, seq: last.message.seq });
    expect(due.map((m) => m.content)).toEqual(["still unanswered", "the job's own"]);
    expect(due.every((m) => m.orgId === hub.orgId)).toBe(true);
    // The history is what the first of them follows.
    expect(history.map((m) => m.content)).toEqual(["earlier context"]);
    expect(first.message.seq < last.message.seq).toBe(true);
  });

  it("one turn's reply twice in a batch: stored once, and only the first caller is told it stored it", async () => {
    const { message: turn } = await submit(inbound(`${kind}-twice`, "answer me once"));
    const reply = { content: "the answer", tokensUsed: 1, sources: [] };
    const [a, b] = await Promise.all([
      hub.runtime.turns.replies.submit({ turn, reply }),
      hub.runtime.turns.replies.submit({ turn, reply }),
    ]);
    expect([a.created, b.created]).toEqual([true, false]);
    expect(b.message?.id).toBe(a.message?.id);
    expect(await hub.runtime.db.prisma.message.count({ where: { inReplyToId: turn.id } })).toBe(1);
    expect((await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id: turn.id } })).status).toBe("answered");
  });
  it("deliveries running at once share their statements, and each gets what it would have got alone", async () => {
    const statements = hub.runtime.hub.deliveries;
    const a = await submit(inbound(`${kind}-deliver-a`, "a"));
    const b = await submit(inbound(`${kind}-deliver-b`, "b"));
    const [heads, partsA, partsAgain, partsB] = await Promise.all([
      Promise.all([statements.head(a.message.id), statements.head(b.message.id), statements.head(randomUUID())]),
      statements.partsOf(a.message.id, ["a1", "a2"]),
      // Two deliveries of one reply at once: its parts are added once, and both get them.
      statements.partsOf(a.message.id, ["a1", "a2"]),
      statements.partsOf(b.message.id, ["b1"]),
    ]);
    expect(heads.map((h) => h?.conversationId ?? null)).toEqual([a.conversationId, b.conversationId, null]);
    expect(partsA.map((p) => p.body)).toEqual(["a1", "a2"]);
    expect(partsAgain.map((p) => p.id)).toEqual(partsA.map((p) => p.id));
    expect(partsB.map((p) => p.body)).toEqual(["b1"]);
    // One part claimed by both deliveries at once: one of them has it; a claim later finds it taken.
    expect(await Promise.all([statements.claim(partsA[0].id), statements.claim(partsA[0].id), statements.claim(partsB[0].id)])).toEqual([
      true,
      false,
      true,
    ]);
    expect(await statements.claim(partsA[0].id)).toBe(false);
    await hub.runtime.db.prisma.message.update({ where: { id: b.message.id }, data: { status: "unsent" } });
    expect(await Promise.all([statements.firstUnsent(a.conversationId), statements.firstUnsent(b.conversationId)])).toEqual([
      null,
      b.message.id,
    ]);
    // A part's callback and its send's answer in one batch, the callback first: applied one after the other, the
    // part moving forward only and keeping the provider id; its message (of one part) takes the part's status. A
    // part of a message of two parts is rolled up with its sibling; an unknown part records nothing.
    const recorded = await Promise.all([
      statements.record(partsB[0].id, { status: "delivered" }),
      statements.record(partsB[0].id, { status: "queued", providerId: "SMb" }),
      statements.record(partsA[0].id, { status: "sent", providerId: "SMa" }),
      statements.record(randomUUID(), { status: "sent" }),
    ]);
    expect(recorded).toEqual([true, true, true, false]);
    const stored = await hub.runtime.db.prisma.message.findMany({
      where: { id: { in: [a.message.id, b.message.id] } },
      include: { outboundParts: true },
    });
    const byId = new Map(stored.map((m) => [m.id, m]));
    expect(byId.get(b.message.id)).toMatchObject({
      status: "delivered",
      providerId: "SMb",
      outboundParts: [{ status: "delivered", providerId: "SMb" }],
    });
    // The other part of a is still to send: a keeps the status it had.
    expect(byId.get(a.message.id)?.status).toBe("pending");
    expect(byId.get(a.message.id)?.outboundParts.find((p) => p.id === partsA[0].id)).toMatchObject({ status: "sent", providerId: "SMa" });
  });
});
