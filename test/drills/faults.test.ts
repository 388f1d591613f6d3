import { type FakeOpenAI, startFakeOpenAI } from "../fakes/openai-server";
import { startFakeTwilio } from "../fakes/twilio-server";
import { startTestHub, type TestHub } from "../support/hub";
import { type HubProcess, spawnHub, startPrivatePostgres, startPrivateRedis, waitFor } from "../support/processes";
import { type Command, startRedisProxy } from "../support/redis-proxy";
import { postWebhook, twilioEnv, whatsapp } from "../support/twilio";
import { delivered } from "../support/twilio-hub";

// Fault drills: a burst of turns while a process, Redis or Postgres dies, or the assistant misbehaves.
// What must hold every time: each accepted message is answered exactly once, in its conversation's order.
// A conversation a person has taken (issue #14) loses nothing either: what its user writes around the fault is
// all stored, held, and answered by nobody but the operator, whose message goes out once.

const ASK = "/api/ai-hub/assistant/ask";

interface Sent {
  id: string;
  conversation: string;
  content: string;
  /** "user" unless set; a system message is stored as context, not answered. */
  role?: string;
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
      body: JSON.stringify({
        message: { id: m.id, role: m.role ?? "user", content: m.content },
        id: m.conversation,
        assistantId: "default",
      }),
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

/**
 * A conversation of the ask API that an operator has taken: answered once by the assistant, then taken over.
 * Its user's messages from then on must be held.
 */
async function takenOver(hub: TestHub, url: string, conversation: string) {
  const hello = { id: `${conversation}-hello`, conversation, content: `hello from ${conversation}` };
  expect((await collect(url, hub.key, hello)).message.content).toBe(`Echo: ${hello.content}`);
  expect((await hub.api(`/api/inbox/${conversation}/takeover`, { body: { operator: "Ana" } })).body.state).toBe("human");
}

/** The held messages `sent` to a taken-over conversation: each stored once, held, answered by nobody. */
async function expectHeld(hub: TestHub, fake: FakeOpenAI, conversation: string, sent: Sent[]) {
  const prisma = hub.runtime.db.prisma;
  const users = await prisma.message.findMany({
    where: { conversation: { orgId: hub.orgId, externalId: conversation }, role: "user", status: { not: "answered" } },
    orderBy: { seq: "asc" },
  });
  // Sent at once: stored in any order.
  const byId = (a: string[], b: string[]) => a[0].localeCompare(b[0]);
  expect(users.map((u) => [u.externalId as string, u.status]).sort(byId)).toEqual(sent.map((m) => [m.id, "held"]).sort(byId));
  expect(await prisma.message.count({ where: { inReplyToId: { in: users.map((u) => u.id) } } })).toBe(0);
  const asked = fake.requests.map((r) => r.body.messages.at(-1)?.content);
  for (const m of sent) expect(asked).not.toContain(m.content);
}

const heldBurst = (tag: string, count: number, conversation: string): Sent[] =>
  Array.from({ length: count }, (_, i) => ({ id: `${tag}-${i}`, conversation, content: `held ${tag} ${i}` }));

describe("fault drills", () => {
  let fake: FakeOpenAI;
  beforeEach(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(() => fake.close());

  it("a worker killed (SIGKILL) during a burst: every turn answered exactly once, a taken-over one's held", async () => {
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
      await takenOver(gateway, gateway.url, "kill-human");
      fake.setDelay(100);
      const sent = burst("kill", 40, 8);
      const held = heldBurst("kill-held", 6, "kill-human");
      const results = Promise.all(sent.map((m) => send(gateway.url, gateway.key, m)));
      const heldBefore = Promise.all(held.slice(0, 3).map((m) => send(gateway.url, gateway.key, m)));
      await waitFor(async () => fake.requests.length >= 10, 30_000, "part of the burst to be answered");
      workers[0].proc.kill("SIGKILL");
      const heldAfter = await Promise.all(held.slice(3).map((m) => send(gateway.url, gateway.key, m)));
      const responses = await results;
      expect(responses.map((r) => r.status)).toEqual(sent.map(() => 200));
      for (const [i, r] of responses.entries()) expect(r.body.message.content).toBe(`Echo: ${sent[i].content}`);
      await expectAnsweredOnce(gateway, sent);
      for (const r of [...(await heldBefore), ...heldAfter]) expect(r).toMatchObject({ status: 202, body: { status: "held" } });
      await expectHeld(gateway, fake, "kill-human", held);
    } finally {
      for (const w of workers) w.proc.kill("SIGKILL");
      await gateway.stop();
    }
  });

  it("a gateway killed between a batch's commit and its enqueue: every message answered once by the sweeper", async () => {
    // Until the kill only gateways run: nothing consumes or sweeps the queue.
    const hub = await startTestHub("postgres", { ROLE: "gateway", ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: fake.url });
    const bull = `{${hub.env.QUEUE_PREFIX}}`;
    const sent = burst("gap", 20, 5);
    // What the gateway sends, as ioredis writes it. addBulk is a pipeline of BullMQ's add-job script, one call
    // a job (no MULTI): of a gateway's commands only that script takes the ask queue's wait list. The rate
    // limiter's script is one call a message; the backlog check is BullMQ's count script.
    const addsAskJob = (c: Command) => /^eval(sha)?$/i.test(c[0]) && c.includes(`${bull}:ask:wait`);
    const rateLimited = (c: Command) => /^eval(sha)?$/i.test(c[0]) && c.some((arg) => arg.startsWith(`${bull}:rl:messages:`));
    const readsBacklog = (c: Command) => /^eval(sha)?$/i.test(c[0]) && c.includes(`${bull}:ask:`) && c.includes("wait");
    // The gateway's commands share one connection: a message not yet past the rate limiter when the enqueue
    // is swallowed would wait behind it for ever, never stored. So the burst is let past the rate limiter all
    // at once, before any of it is committed. The backlog is read again 500ms after its last read: messages
    // arriving later wait on that read, which would wait behind the held answers, so it lets them out.
    const proxy = await startRedisProxy(hub.env.REDIS_URL, {
      swallowFrom: addsAskJob,
      gather: { matches: rateLimited, count: sent.length, releasedBy: readsBacklog },
    });
    const processes: HubProcess[] = [];
    try {
      const gateway = await spawnHub({ ...hub.env, ROLE: "gateway", REDIS_URL: proxy.url });
      processes.push(gateway);
      const url = gateway.url as string;
      // System messages are stored as context, never answered: they warm the gateway's path up, so the burst
      // reaches the rate limiter within a short time.
      await Promise.all(burst("gap-warm", 5, 1).map((m) => send(url, hub.key, { ...m, role: "system" })));
      const results = Promise.all(sent.map((m) => send(url, hub.key, m)));
      await waitFor(() => proxy.gathered() === sent.length, 30_000, "the burst to reach the rate limiter");
      const prisma = hub.runtime.db.prisma;
      const ours = { externalId: { in: sent.map((m) => m.id) }, role: "user" };
      await waitFor(
        async () => proxy.swallowed() === 1 && (await prisma.message.count({ where: { ...ours, status: "pending" } })) === sent.length,
        30_000,
        "the burst to be stored and its enqueue swallowed",
      );
      // All committed, none queued: the kill falls in the gap.
      for (const m of await prisma.message.findMany({ where: ours })) expect(await hub.runtime.askQueue.getJobState(m.id)).toBe("unknown");
      gateway.proc.kill("SIGKILL");
      await gateway.exited;
      for (const r of await results) expect(r.status).not.toBe(200);

      // A worker on Redis itself: its sweeper finds the pending messages that have no job, and enqueues them.
      const worker = await spawnHub({ ...hub.env, ROLE: "worker", SWEEP_INTERVAL_MS: "200", SWEEP_AFTER_MS: "500" });
      processes.push(worker);
      await waitFor(
        async () => (await prisma.message.count({ where: { ...ours, status: "answered" } })) === sent.length,
        60_000,
        "the swept turns to be answered",
      );
      expect(worker.output()).toContain("sweeper put pending messages back on their way");
      // Asked again with the same ids (through the other gateway), the API returns the stored replies.
      for (const m of sent) expect((await collect(hub.url, hub.key, m)).message.content).toBe(`Echo: ${m.content}`);
      await expectAnsweredOnce(hub, sent);
      expect(fake.requests).toHaveLength(sent.length);
    } finally {
      for (const p of processes) {
        p.proc.kill("SIGKILL");
        await p.exited;
      }
      await proxy.close();
      await hub.stop();
    }
  });

  it("Redis restarted during a burst: every accepted message answered once after it returns, or held; an operator's sent once", async () => {
    let redis = await startPrivateRedis();
    const twilio = await startFakeTwilio();
    const hub = await startTestHub("postgres", {
      REDIS_URL: redis.url,
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      ASK_TIMEOUT_MS: "3000",
      SWEEP_INTERVAL_MS: "300",
      SWEEP_AFTER_MS: "1000",
      ...twilioEnv(twilio),
    });
    // A WhatsApp user whose conversation an operator has taken: the operator writes while Redis is away.
    const user = "+351912000001";
    const whatsApp = `whatsapp_${user}`;
    const write = (body: string) => postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, "+14155238886", body));
    const operatorSays = (content: string, key: string) =>
      hub.api(`/api/inbox/${encodeURIComponent(whatsApp)}/messages`, {
        body: { content, author: "Ana" },
        headers: { "idempotency-key": key },
      });
    const sentToUser = (body: string) => twilio.sends.filter((m) => m.to === `whatsapp:${user}` && m.body === body);
    try {
      await takenOver(hub, hub.url, "redis-human");
      expect((await write("hi")).status).toBe(200);
      await waitFor(() => sentToUser("Echo: hi").length === 1, 30_000, "the WhatsApp user's answer");
      expect((await hub.api(`/api/inbox/${encodeURIComponent(whatsApp)}/takeover`, { body: { operator: "Ana" } })).body.state).toBe(
        "human",
      );

      fake.setDelay(50);
      const before = burst("redis-a", 20, 5);
      const held = heldBurst("redis-held", 6, "redis-human");
      const first = Promise.all(before.map((m) => send(hub.url, hub.key, m)));
      const heldBefore = await Promise.all(held.slice(0, 2).map((m) => send(hub.url, hub.key, m)));
      await waitFor(async () => fake.requests.length >= 5, 30_000, "part of the burst to be answered");
      await redis.stop();
      const during = burst("redis-b", 10, 5);
      const refused = await Promise.all(during.map((m) => send(hub.url, hub.key, m)));
      // While Redis is away each message is kept and the client is told so, with the id to ask again with.
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ success: false, message_id: expect.any(String), retry_after: expect.any(Number) });
      }
      // A held message needs no queue: stored and acknowledged as ever. The operator's message is stored, and
      // goes out once Redis is back (the outbox); a retry of the request is that same message.
      const heldDuring = await Promise.all(held.slice(2, 4).map((m) => send(hub.url, hub.key, m)));
      expect((await write("anyone there?")).status).toBe(200);
      const operator = await operatorSays("Ana here, one moment", "during-1");
      redis = await startPrivateRedis(redis.port);
      expect(operator).toMatchObject({ status: 201, body: { status: "unsent" } });
      for (const r of await first) expect([200, 202, 503]).toContain(r.status);
      const heldAfter = await Promise.all(held.slice(4).map((m) => send(hub.url, hub.key, m)));
      expect((await operatorSays("Ana here, one moment", "during-1")).body.id).toBe(operator.body.id);

      const all = [...before, ...during];
      for (const m of all) expect((await collect(hub.url, hub.key, m)).message.content).toBe(`Echo: ${m.content}`);
      await expectAnsweredOnce(hub, all);
      for (const r of [...heldBefore, ...heldDuring, ...heldAfter]) expect(r).toMatchObject({ status: 202, body: { status: "held" } });
      await expectHeld(hub, fake, "redis-human", held);

      await delivered(hub, operator.body.id);
      expect(sentToUser("Ana here, one moment")).toHaveLength(1);
      const whatsAppHeld = await hub.runtime.db.prisma.message.findFirstOrThrow({
        where: { conversation: { externalId: whatsApp }, content: "anyone there?" },
      });
      expect(whatsAppHeld.status).toBe("held");
      expect(twilio.sends.filter((m) => m.to === `whatsapp:${user}`).map((m) => m.body)).toEqual(["Echo: hi", "Ana here, one moment"]);
      expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
    } finally {
      await hub.stop();
      await redis.stop();
      await twilio.close();
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
      OPENAI_TIMEOUT_MS: "6000",
      OPENAI_ANSWER_TIMEOUT_MS: "6000",
      OPENAI_MAX_RETRIES: "0",
      MODEL_RETRY_FOR_MS: "0",
    });
    try {
      fake.hangNext(1);
      let stuckEnded = false;
      const stuck = send(hub.url, hub.key, { id: "hang-1", conversation: "hang-conv", content: "hello?" }).finally(() => {
        stuckEnded = true;
      });
      await waitFor(async () => fake.requests.length === 1, 10_000, "the hanging call");
      const others = burst("moving", 6, 6);
      const answered = await Promise.all(others.map((m) => send(hub.url, hub.key, m)));
      expect(answered.map((r) => r.status)).toEqual(others.map(() => 200));
      // Answered while the hanging call still held its turn: they did not wait for its time limit.
      expect(stuckEnded).toBe(false);

      const fallback = await stuck;
      expect(fallback.status).toBe(502);
      expect(fallback.body.message.content).toMatch(/can't answer right now/);
      const turn = await hub.runtime.db.prisma.message.findFirstOrThrow({ where: { externalId: "hang-1" } });
      expect(turn.status).toBe("failed");
      expect(turn.error).toMatch(/did not answer within 6000ms/);
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
