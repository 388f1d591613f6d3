import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openPGlite } from "../../src/db/database";
import { type FakeOpenAI, startFakeOpenAI } from "../fakes/openai-server";
import { DB_KINDS } from "../support/databases";
import { startTestHub, type TestHub } from "../support/hub";
import { type HubProcess, spawnHub, startPrivateRedis, waitFor } from "../support/processes";

const ASK = "/api/ai-hub/assistant/ask";

const ask = (url: string, key: string, messageId: string, conversation: string) =>
  fetch(`${url}${ASK}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      message: { id: messageId, role: "user", content: "Is my order late?" },
      id: conversation,
      assistantId: "default",
    }),
  });

describe("a worker killed (SIGKILL) in the middle of a turn", () => {
  let fake: FakeOpenAI;
  beforeEach(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(() => fake.close());

  it("is answered once after another worker recovers the turn (postgres, separate worker processes)", async () => {
    const gateway = await startTestHub("postgres", {
      ROLE: "gateway",
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      JOB_LOCK_MS: "2000",
    });
    const workers: HubProcess[] = [];
    try {
      const workerEnv = { ...gateway.env, ROLE: "worker", JOB_LOCK_MS: "2000" };
      fake.setDelay(30_000);
      workers.push(await spawnHub(workerEnv));
      const pending = ask(gateway.url, gateway.key, "kill-1", "conv-kill");
      await waitFor(async () => fake.requests.length === 1, 20_000, "the assistant call");
      workers[0].proc.kill("SIGKILL");
      await workers[0].exited;

      fake.setDelay(0);
      workers.push(await spawnHub(workerEnv));
      const res = await pending;
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.message.content).toContain("Is my order late?");
      expect(fake.requests.length).toBe(2);
      const replies = await gateway.runtime.db.prisma.message.findMany({
        where: { role: "assistant", conversation: { externalId: "conv-kill" } },
      });
      expect(replies).toHaveLength(1);
    } finally {
      for (const w of workers) w.proc.kill("SIGKILL");
      await gateway.stop();
    }
  });

  it("is answered once after the whole hub restarts on the same data (pglite)", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "hub-kill-"));
    const redisPrefix = `k${Date.now().toString(36)}`;
    const env = {
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      QUEUE_PREFIX: redisPrefix,
      BOOTSTRAP_API_KEY: "kill-test-key-0123456789",
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      JOB_LOCK_MS: "2000",
    };
    let hub = await spawnHub(env);
    try {
      fake.setDelay(30_000);
      const first = ask(hub.url as string, env.BOOTSTRAP_API_KEY, "kill-2", "conv-kill-2").catch(() => null);
      await waitFor(async () => fake.requests.length === 1, 20_000, "the assistant call");
      hub.proc.kill("SIGKILL");
      await hub.exited;
      expect(await first).toBeNull();

      fake.setDelay(0);
      hub = await spawnHub(env);
      const body = await waitFor(
        async () => {
          const res = await ask(hub.url as string, env.BOOTSTRAP_API_KEY, "kill-2", "conv-kill-2");
          return res.status === 200 ? res.json() : null;
        },
        30_000,
        "the recovered reply",
      );
      expect(body.message.content).toContain("Is my order late?");
      hub.proc.kill("SIGTERM");
      await hub.exited;

      const db = openPGlite(path.join(dataDir, "pglite"));
      const replies = await db.prisma.message.count({ where: { role: "assistant", conversation: { externalId: "conv-kill-2" } } });
      await db.close();
      expect(replies).toBe(1);
      expect(fake.requests.length).toBe(2);
    } finally {
      hub.proc.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("SIGTERM", () => {
  it("lets the turn in flight finish and answer, refuses new connections, and exits cleanly", async () => {
    const fake = await startFakeOpenAI();
    const gateway = await startTestHub("postgres", { ROLE: "gateway", ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: fake.url });
    const worker = await spawnHub({ ...gateway.env, ROLE: "all", PORT: "0" });
    try {
      fake.setDelay(1500);
      const inFlight = ask(worker.url as string, gateway.key, "term-1", "conv-term");
      await waitFor(async () => fake.requests.length === 1, 20_000, "the assistant call");
      worker.proc.kill("SIGTERM");

      const res = await inFlight;
      expect(res.status).toBe(200);
      expect((await res.json()).message.content).toContain("Is my order late?");
      expect(await worker.exited).toBe(0);
      await expect(ask(worker.url as string, gateway.key, "term-2", "conv-term")).rejects.toThrow();
      expect(await gateway.runtime.db.prisma.message.count({ where: { role: "assistant" } })).toBe(1);
    } finally {
      worker.proc.kill("SIGKILL");
      await gateway.stop();
      await fake.close();
    }
  });
});

describe.each(DB_KINDS)("Redis unavailable at accept (%s)", (kind) => {
  let hub: TestHub;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    hub = await startTestHub(kind, { REDIS_URL: redis.url, SWEEP_INTERVAL_MS: "200", SWEEP_AFTER_MS: "300" });
  });
  afterAll(async () => {
    await hub?.stop();
    await redis?.stop();
  });

  it("keeps the message pending, says so clearly, and answers it once Redis is back", async () => {
    await redis.stop();
    const refused = await ask(hub.url, hub.key, "down-1", "conv-down");
    expect(refused.status).toBe(503);
    const body = await refused.json();
    expect(body).toMatchObject({ success: false, message_id: expect.any(String) });
    expect(body.error).toMatch(/saved/);
    const stored = await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id: body.message_id } });
    expect(stored.status).toBe("pending");

    redis = await startPrivateRedis(redis.port);
    await waitFor(
      async () => (await hub.runtime.db.prisma.message.findUnique({ where: { id: body.message_id } }))?.status === "answered",
      30_000,
      "the pending message to be answered",
    );
    const again = await ask(hub.url, hub.key, "down-1", "conv-down");
    expect(again.status).toBe(200);
    const replies = await hub.runtime.db.prisma.message.count({ where: { inReplyToId: body.message_id } });
    expect(replies).toBe(1);
  });
});
