import { type FakeOpenAI, startFakeOpenAI } from "../fakes/openai-server";
import { startTestHub, type TestHub } from "../support/hub";
import { type HubProcess, spawnHub, startPrivatePostgres, startPrivateRedis, waitFor } from "../support/processes";

// Fault drills: a burst of turns while a process, Redis or Postgres dies, or the assistant misbehaves.
// What must hold every time: each accepted message is answered exactly once, in its conversation's order.

const ASK = "/api/ai-hub/assistant/ask";

interface Sent {
  id: string;
  conversation: string;
  content: string;
}

/** `count` messages over `conversations` conversations, each unique so its echoed reply names it. */
function burst(tag: string, count: number, conversations: number): Sent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${tag}-${i}`,
    conversation: `${tag}-conv-${i % conversations}`,
    content: `question ${tag} ${i}`,
  }));
}

async function send(url: string, key: string, m: Sent) {
  try {
    const res = await fetch(`${url}${ASK}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ message: { id: m.id, role: "user", content: m.content }, id: m.conversation, assistantId: "default" }),
    });
    return { status: res.status, body: await res.json() };
  } catch (err) {
    return { status: 0, body: { error: (err as Error).message } };
  }
}

/** Asks again with the same message id until the reply is there: the way a client collects it. */
function collect(url: string, key: string, m: Sent, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const res = await send(url, key, m);
      return res.status === 200 ? res.body : null;
    },
    timeoutMs,
    `the reply to ${m.id}`,
  );
}

/** Every message answered once, by a reply to that message, and each conversation's replies in order. */
async function expectAnsweredOnce(hub: TestHub, sent: Sent[]) {
  const prisma = hub.runtime.db.prisma;
  const users = await prisma.message.findMany({ where: { externalId: { in: sent.map((m) => m.id) } }, orderBy: { seq: "asc" } });
  expect(users).toHaveLength(sent.length);
  expect(users.filter((u) => u.status !== "answered").map((u) => `${u.externalId}: ${u.status}`)).toEqual([]);
  const replies = await prisma.message.findMany({ where: { inReplyToId: { in: users.map((u) => u.id) } }, orderBy: { seq: "asc" } });
  expect(replies).toHaveLength(sent.length);
  const userById = new Map(users.map((u) => [u.id, u]));
  for (const reply of replies) expect(reply.content).toBe(`Echo: ${userById.get(reply.inReplyToId as string)?.content}`);
  // Within a conversation, replies were stored in the order of the messages they answer.
  const byConversation = new Map<string, bigint[]>();
  for (const reply of replies) {
    const list = byConversation.get(reply.conversationId) ?? [];
    list.push(userById.get(reply.inReplyToId as string)?.seq as bigint);
    byConversation.set(reply.conversationId, list);
  }
  for (const seqs of byConversation.values()) expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
}

describe("fault drills", () => {
  let fake: FakeOpenAI;
  beforeEach(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(() => fake.close());

  it("a worker killed (SIGKILL) during a burst: every turn answered exactly once", async () => {
    const gateway = await startTestHub("postgres", {
      ROLE: "gateway",
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      JOB_LOCK_MS: "2000",
    });
    const workerEnv = { ...gateway.env, ROLE: "worker" };
    const workers: HubProcess[] = [];
    try {
      workers.push(await spawnHub(workerEnv), await spawnHub(workerEnv));
      fake.setDelay(100);
      const sent = burst("kill", 40, 8);
      const results = Promise.all(sent.map((m) => send(gateway.url, gateway.key, m)));
      await waitFor(async () => fake.requests.length >= 10, 30_000, "part of the burst to be answered");
      workers[0].proc.kill("SIGKILL");
      const responses = await results;
      expect(responses.map((r) => r.status)).toEqual(sent.map(() => 200));
      for (const [i, r] of responses.entries()) expect(r.body.message.content).toBe(`Echo: ${sent[i].content}`);
      await expectAnsweredOnce(gateway, sent);
    } finally {
      for (const w of workers) w.proc.kill("SIGKILL");
      await gateway.stop();
    }
  });

  it("Redis restarted during a burst: every accepted message answered once after it returns", async () => {
    let redis = await startPrivateRedis();
    const hub = await startTestHub("postgres", {
      REDIS_URL: redis.url,
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      ASK_TIMEOUT_MS: "3000",
      SWEEP_INTERVAL_MS: "300",
      SWEEP_AFTER_MS: "1000",
    });
    try {
      fake.setDelay(50);
      const before = burst("redis-a", 20, 5);
      const first = Promise.all(before.map((m) => send(hub.url, hub.key, m)));
      await waitFor(async () => fake.requests.length >= 5, 30_000, "part of the burst to be answered");
      await redis.stop();
      const during = burst("redis-b", 10, 5);
      const refused = await Promise.all(during.map((m) => send(hub.url, hub.key, m)));
      // While Redis is away each message is kept and the client is told so, with the id to ask again with.
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ success: false, message_id: expect.any(String), retry_after: expect.any(Number) });
      }
      redis = await startPrivateRedis(redis.port);
      for (const r of await first) expect([200, 202, 503]).toContain(r.status);

      const all = [...before, ...during];
      for (const m of all) expect((await collect(hub.url, hub.key, m)).message.content).toBe(`Echo: ${m.content}`);
      await expectAnsweredOnce(hub, all);
      expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
    } finally {
      await hub.stop();
      await redis.stop();
    }
  });

  it("Postgres restarted during a burst: nothing accepted is lost, requests refused meanwhile say so", async () => {
    const pg = await startPrivatePostgres();
    const hub = await startTestHub("postgres", {
      DATABASE_URL: pg.url,
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      ASK_TIMEOUT_MS: "3000",
    });
    try {
      fake.setDelay(100);
      const before = burst("pg-a", 20, 5);
      const first = Promise.all(before.map((m) => send(hub.url, hub.key, m)));
      await waitFor(async () => fake.requests.length >= 5, 30_000, "part of the burst to be answered");
      pg.stop();
      const during = burst("pg-b", 5, 5);
      const refused = await Promise.all(during.map((m) => send(hub.url, hub.key, m)));
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ success: false, error: expect.stringMatching(/database/i) });
      }
      expect((await fetch(`${hub.url}/readyz`)).status).toBe(503);
      pg.start();
      const accepted = (await first).map((r, i) => ({ r, m: before[i] })).filter(({ r }) => r.status !== 503);
      // Messages refused during the outage were not stored; the client sends them again.
      const resent = [...before.filter((_, i) => !accepted.some((a) => a.m === before[i])), ...during];
      for (const m of [...accepted.map((a) => a.m), ...resent]) {
        expect((await collect(hub.url, hub.key, m)).message.content).toBe(`Echo: ${m.content}`);
      }
      await expectAnsweredOnce(hub, [...before, ...during]);
    } finally {
      await hub.stop();
      pg.destroy();
    }
  });

  it("an assistant that hangs: a fallback reply after the time limit, other conversations keep moving", async () => {
    const hub = await startTestHub("pglite", {
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      OPENAI_TIMEOUT_MS: "1500",
      OPENAI_MAX_RETRIES: "0",
      MODEL_RETRY_FOR_MS: "0",
    });
    try {
      fake.hangNext(1);
      const stuck = send(hub.url, hub.key, { id: "hang-1", conversation: "hang-conv", content: "hello?" });
      await waitFor(async () => fake.requests.length === 1, 10_000, "the hanging call");
      const started = Date.now();
      const others = burst("moving", 6, 6);
      const answered = await Promise.all(others.map((m) => send(hub.url, hub.key, m)));
      expect(answered.map((r) => r.status)).toEqual(others.map(() => 200));
      expect(Date.now() - started).toBeLessThan(1500);

      const fallback = await stuck;
      expect(fallback.status).toBe(502);
      expect(fallback.body.message.content).toMatch(/can't answer right now/);
      const turn = await hub.runtime.db.prisma.message.findFirstOrThrow({ where: { externalId: "hang-1" } });
      expect(turn.status).toBe("failed");
      expect(turn.error).toMatch(/did not answer within 1500ms/);
    } finally {
      await hub.stop();
    }
  });

  it("sustained overload: sheds load with 503 and a clear message, stores nothing it refused, recovers", async () => {
    const hub = await startTestHub("postgres", {
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      MAX_WAITING_ASKS: "4",
      WORKER_CONCURRENCY: "2",
      MAX_QUEUE_BACKLOG: "4",
      ASK_TIMEOUT_MS: "200",
    });
    try {
      fake.setDelay(2000);
      // More than the gateway holds open at once: the excess is refused at the door.
      const wave = burst("wave", 12, 12);
      const first = await Promise.all(wave.map((m) => send(hub.url, hub.key, m)));
      const refused = first.filter((r) => r.status === 503);
      expect(refused.length).toBe(8);
      for (const r of refused)
        expect(r.body).toMatchObject({ success: false, error: expect.stringMatching(/nothing was stored/), retry_after: 2 });
      expect(first.filter((r) => r.status === 202)).toHaveLength(4);

      // Sent one after another, so the gateway holds few open, the queue's backlog fills up behind the
      // two busy workers; past MAX_QUEUE_BACKLOG new messages are refused too.
      const statuses: number[] = [];
      for (const m of burst("steady", 20, 20)) {
        const r = await send(hub.url, hub.key, m);
        statuses.push(r.status);
        if (r.status === 503) expect(r.body.error).toMatch(/overloaded/);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(statuses).toContain(503);
      const acceptedCount = first.filter((r) => r.status !== 503).length + statuses.filter((s) => s !== 503).length;
      expect(await hub.runtime.db.prisma.message.count({ where: { role: "user" } })).toBe(acceptedCount);

      // Once the backlog drains, messages are taken again.
      fake.setDelay(0);
      await waitFor(
        async () => (await hub.runtime.db.prisma.message.count({ where: { status: "pending" } })) === 0,
        60_000,
        "the backlog to drain",
      );
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect((await send(hub.url, hub.key, { id: "after", conversation: "after", content: "still there?" })).status).toBe(200);
    } finally {
      await hub.stop();
    }
  });
});
