import { type FakeOpenAI, startFakeOpenAI } from "../fakes/openai-server";
import { DB_KINDS } from "../support/databases";
import { startTestHub, type TestHub } from "../support/hub";
import { waitFor } from "../support/processes";
import { parseSse } from "../support/sse";

const ASK = "/api/ai-hub/assistant/ask";

describe.each(DB_KINDS)("the turn pipeline with an OpenAI-compatible assistant (%s)", (kind) => {
  let hub: TestHub;
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    hub = await startTestHub(kind, {
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      OPENAI_MAX_RETRIES: "1",
      RATE_LIMIT_PER_MINUTE: "1000",
      // The fallback is final here; follow-ups of unreachable-model turns: test/workers/follow-up.test.ts.
      MODEL_RETRY_FOR_MS: "0",
    });
  });
  afterAll(async () => {
    await hub?.stop();
    await fake?.close();
  });
  afterEach(() => {
    fake.setDelay(0);
    fake.setPieceDelay(0);
  });

  const ask = (conversation: string, content: string, id?: string) =>
    hub.api(ASK, { body: { message: { id, role: "user", content }, id: conversation, assistantId: "default" } });
  const userLines = (body: { messages: { role: string; content: string }[] }) =>
    body.messages.filter((m) => m.role === "user").map((m) => m.content);

  it("keeps context within a conversation id and never across ids", async () => {
    await ask(`${kind}-ctx-a`, "My name is Ana");
    await ask(`${kind}-ctx-b`, "My name is Bruno");
    const res = await ask(`${kind}-ctx-a`, "What is my name?");
    expect(res.status).toBe(200);
    const seen = fake.requests.at(-1)!.body;
    expect(userLines(seen)).toEqual(["My name is Ana", "What is my name?"]);
    expect(
      seen.messages.some((m: { role: string; content: string }) => m.role === "assistant" && m.content.includes("My name is Ana")),
    ).toBe(true);
    expect(JSON.stringify(seen)).not.toContain("Bruno");
  });

  it("answers concurrent asks of one conversation in order, each seeing all before it, one at a time", async () => {
    fake.setDelay(150);
    const conversation = `${kind}-order`;
    const from = fake.requests.length;
    const contents = ["one", "two", "three", "four", "five"];
    const results = await Promise.all(contents.map((c, i) => ask(conversation, c, `${conversation}-${i}`)));
    for (const [i, res] of results.entries()) expect(res.body.message.content).toContain(contents[i]);

    const rows = await hub.runtime.db.prisma.message.findMany({
      where: { conversation: { externalId: conversation } },
      orderBy: { seq: "asc" },
    });
    const users = rows.filter((m) => m.role === "user");
    const replies = rows.filter((m) => m.role === "assistant");
    // Replies come in the order the messages were accepted.
    expect(replies.map((r) => r.inReplyToId)).toEqual(users.map((u) => u.id));
    const calls = fake.requests.slice(from);
    expect(calls).toHaveLength(5);
    for (const call of calls) {
      const seen = userLines(call.body);
      const own = seen.at(-1)!;
      const before = users
        .slice(
          0,
          users.findIndex((u) => u.content === own),
        )
        .map((u) => u.content);
      expect(seen.slice(0, -1)).toEqual(before);
    }
    // One assistant call at a time for a conversation.
    for (let i = 1; i < calls.length; i++) expect(calls[i].receivedAt).toBeGreaterThanOrEqual(calls[i - 1].answeredAt!);
  });

  it("streams a slowly written reply over SSE as it is written, in deltas that join into the final message", async () => {
    fake.setPieceDelay(60);
    const res = await fetch(hub.url + ASK, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.key}`, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ message: { content: "one two three four five six" }, id: `${kind}-slow-stream`, assistantId: "default" }),
    });
    const events = parseSse(await res.text());
    const deltas = events.filter((e) => e.event === "delta").map((e) => e.data.content);
    expect(deltas.length).toBeGreaterThan(2);
    expect(events.at(-1)?.event).toBe("message");
    expect(events.at(-1)?.data.message.content).toBe("Echo: one two three four five six");
    expect(deltas.join("")).toBe("Echo: one two three four five six");
  });

  it("publishes a streamed turn's events in order: the message accepted, typing, the reply as it is written, the reply", async () => {
    const conversation = `${kind}-events`;
    await ask(conversation, "first");
    const { id } = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: conversation } });
    const seen: string[] = [];
    const off = hub.runtime.bus.on(id, (event) => seen.push(event.type));
    fake.setPieceDelay(60);
    const res = await fetch(hub.url + ASK, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.key}`, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ message: { content: "one two three four" }, id: conversation, assistantId: "default" }),
    });
    await res.text();
    off();
    // Repeated deltas collapse to one entry: how many there are depends on the model's pace.
    expect(seen.filter((type, i) => type !== seen[i - 1])).toEqual(["accepted", "typing", "delta", "reply"]);
  });

  it("publishes only the message accepted and the reply of a turn nobody watches being written (a JSON ask)", async () => {
    const conversation = `${kind}-events-json`;
    await ask(conversation, "first");
    const { id } = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: conversation } });
    const seen: string[] = [];
    const off = hub.runtime.bus.on(id, (event) => seen.push(event.type));
    fake.setPieceDelay(60);
    const res = await ask(conversation, "one two three four");
    off();
    expect(res.body.message.content).toBe("Echo: one two three four");
    expect(seen).toEqual(["accepted", "reply"]);
  });

  it("answers a job queued without the message's seq, as a gateway of the previous release queues it", async () => {
    const prisma = hub.runtime.db.prisma;
    await ask(`${kind}-old-job`, "first");
    const conversation = await prisma.conversation.findFirstOrThrow({ where: { externalId: `${kind}-old-job` } });
    const message = await prisma.message.create({
      data: {
        conversationId: conversation.id,
        role: "user",
        content: "from an older gateway",
        status: "pending",
        turnOptions: { assistant: { ref: "default" } },
      },
    });
    await hub.runtime.askQueue.add("turn", { messageId: message.id, conversationId: conversation.id }, { jobId: message.id });
    const reply = await waitFor(() => prisma.message.findUnique({ where: { inReplyToId: message.id } }), 10_000, "the reply");
    expect(reply.content).toBe("Echo: from an older gateway");
  });

  it("runs different conversations in parallel", async () => {
    fake.setDelay(400);
    const from = fake.requests.length;
    await Promise.all([ask(`${kind}-par-1`, "hello"), ask(`${kind}-par-2`, "hello")]);
    const [a, b] = fake.requests.slice(from);
    expect(b.receivedAt).toBeLessThan(a.answeredAt!);
  });

  it("gives a fallback reply and records a failed turn when the assistant keeps failing, and moves on", async () => {
    fake.failNext(2, 500);
    const res = await ask(`${kind}-fail`, "Are you there?", `${kind}-fail-1`);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ success: false, message: { role: "assistant" } });
    expect(res.body.message.content).toMatch(/can't answer right now/);
    const turn = await hub.runtime.db.prisma.message.findFirstOrThrow({ where: { externalId: `${kind}-fail-1` } });
    expect(turn.status).toBe("failed");
    expect(turn.error).toMatch(/500/);
    const next = await ask(`${kind}-fail`, "And now?");
    expect(next.status).toBe(200);
    expect(next.body.message.content).toContain("And now?");
  });
});
