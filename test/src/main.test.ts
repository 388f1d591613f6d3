import { createTestDatabaseUrl, dropTestDatabase } from "../support/databases";
import { REDIS_URL } from "../support/env";
import { freePort, spawnHub, startPrivateRedis, waitFor } from "../support/processes";

// Starting and stopping the hub as its operators do.

jest.setTimeout(180_000);

const KEY = "main-test-key-0123456789";
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createTestDatabaseUrl();
});
afterAll(() => dropTestDatabase(databaseUrl));

const hubEnv = (more: Record<string, string> = {}) => ({
  PORT: "0",
  HOST: "127.0.0.1",
  DATABASE_URL: databaseUrl,
  REDIS_URL,
  QUEUE_PREFIX: `m${Math.random().toString(36).slice(2, 10)}`,
  BOOTSTRAP_API_KEY: KEY,
  ...more,
});

const ask = (url: string, id: string) =>
  fetch(`${url}/api/ai-hub/assistant/ask`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ message: { id, role: "user", content: "Hello?" }, id: `conv-${id}`, assistantId: "default" }),
  });

/** The hub's JSON log lines; anything else in its output (a raw stack) fails the parse. */
const logLines = (output: string) =>
  output
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg: string; pid: number; attempt?: number; delayMs?: number });

describe("starting the hub", () => {
  it("starts without Redis, says why it is not ready, logs one JSON line per reconnect, and works once Redis is there", async () => {
    const port = await freePort();
    const hub = await spawnHub(hubEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    let redis: Awaited<ReturnType<typeof startPrivateRedis>> | null = null;
    try {
      const url = hub.url as string;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: "unavailable",
        redis: expect.stringMatching(/not connected.*ECONNREFUSED/),
        database: "ok",
      });
      const reconnects = () => logLines(hub.output()).filter((l) => l.msg === "redis unreachable: reconnecting");
      await waitFor(() => reconnects().length >= 3, 30_000, "three reconnect attempts");
      const attempts = reconnects();
      expect(attempts.map((l) => l.attempt)).toEqual(attempts.map((_, i) => i + 1));
      expect(attempts[2].delayMs).toBeGreaterThan(attempts[0].delayMs as number);

      redis = await startPrivateRedis(port);
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000, "the hub to be ready");
      const res = await ask(url, "after-redis");
      expect(res.status).toBe(200);
      expect((await res.json()).message.role).toBe("assistant");
      expect(logLines(hub.output()).filter((l) => l.msg === "redis connected")).toHaveLength(1);
    } finally {
      hub.proc.kill("SIGKILL");
      await hub.exited;
      await redis?.stop();
    }
  });
});
