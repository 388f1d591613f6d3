import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabaseUrl, dropTestDatabase } from "../support/databases";
import { REDIS_URL } from "../support/env";
import { freePort, runToEnd, spawnHub, spawnUntilStarted, startPrivateRedis, waitFor } from "../support/processes";

// Starting and stopping the hub as its operators do: `npm start`, signals, a missing Redis, a busy port.

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

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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

  /** Runs the hub with `setting` at a port another server holds; it must exit before it creates `DATA_DIR`. */
  async function startOnTakenPort(setting: "PORT" | "METRICS_PORT") {
    const taken = createServer();
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, "127.0.0.1", () => resolve((taken.address() as { port: number }).port)),
    );
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "hub-port-")), "data");
    try {
      const env = { PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir, REDIS_URL, [setting]: String(port) };
      const run = await runToEnd(process.execPath, ["--import", "tsx", "src/main.ts"], env);
      return { port, run, dataDirCreated: existsSync(dataDir) };
    } finally {
      taken.close();
      rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
  }

  it("refuses a port in use in one line, before it opens the data directory", async () => {
    const { port, run, dataDirCreated } = await startOnTakenPort("PORT");
    expect(run).toEqual({ code: 1, stdout: "", stderr: `port ${port} is in use: set PORT to a free port\n` });
    expect(dataDirCreated).toBe(false);
  });

  it("refuses a metrics port in use in one line, before it opens the data directory", async () => {
    const { port, run, dataDirCreated } = await startOnTakenPort("METRICS_PORT");
    expect(run).toEqual({ code: 1, stdout: "", stderr: `port ${port} is in use: set METRICS_PORT to a free port\n` });
    expect(dataDirCreated).toBe(false);
  });
});

describe("stopping `npm start`", () => {
  /** `npm start`, with the pid of the hub it runs (from the hub's own log line). */
  async function npmStart(detached = false) {
    const port = await freePort();
    const npm = await spawnUntilStarted("npm", ["start"], hubEnv({ PORT: String(port) }), { detached });
    const started = npm
      .output()
      .split("\n")
      .find((l) => l.includes('"hub started"'));
    return { npm, hubPid: JSON.parse(started as string).pid as number, url: npm.url as string };
  }

  async function expectStoppedGracefully(started: Awaited<ReturnType<typeof npmStart>>) {
    const { npm, hubPid, url } = started;
    try {
      // npm passes the signal on to the hub, then either waits for it (0) or, at times, dies of the signal
      // itself (null): what it does is npm's; what is checked below is that the hub stopped, gracefully, once.
      expect([0, null]).toContain(await npm.exited);
      await waitFor(() => !isRunning(hubPid), 30_000, "the hub process to exit");
      // The hub writes to the pipe it shares with npm: its last lines may be read after both have exited.
      await waitFor(() => npm.output().includes('"msg":"shutting down"'), 30_000, "the hub's shutdown line");
      expect(npm.output().match(/"msg":"shutting down"/g)).toHaveLength(1);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      if (isRunning(hubPid)) process.kill(hubPid, "SIGKILL");
    }
  }

  it("stops the hub gracefully on SIGTERM to npm, as a process manager sends it", async () => {
    const started = await npmStart();
    expect(started.hubPid).not.toBe(started.npm.proc.pid);
    started.npm.proc.kill("SIGTERM");
    await expectStoppedGracefully(started);
  });

  it("stops the hub gracefully, once, on the Ctrl-C a terminal sends to npm and the hub alike", async () => {
    const started = await npmStart(true);
    process.kill(-(started.npm.proc.pid as number), "SIGINT");
    await expectStoppedGracefully(started);
  });
});
