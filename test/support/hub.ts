import { randomBytes } from "node:crypto";
import { loadConfig } from "../../src/config";
import { type RunningHub, startHub } from "../../src/main";
import { createTestDatabaseUrl, type DbKind, dropTestDatabase } from "./databases";
import { NO_BURSTS, REDIS_URL } from "./env";
import { openTemplatePGlite } from "./pglite-template";

export interface TestHub extends RunningHub {
  url: string;
  /** A Bearer key of the default org. */
  key: string;
  orgId: string;
  env: Record<string, string>;
  /** fetch against the hub with the key and JSON. */
  api(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

/**
 * The whole hub in this process (gateway and workers) on real Redis and a database of its own: a new
 * Postgres database, or an in-memory PGlite. Queues get their own prefix, so tests run side by side.
 */
export async function startTestHub(kind: DbKind, env: Record<string, string> = {}): Promise<TestHub> {
  const key = `test_${randomBytes(16).toString("hex")}`;
  const databaseUrl = kind === "postgres" ? await createTestDatabaseUrl() : undefined;
  const fullEnv: Record<string, string> = {
    PORT: "0",
    HOST: "127.0.0.1",
    REDIS_URL,
    QUEUE_PREFIX: `t${randomBytes(5).toString("hex")}`,
    BOOTSTRAP_API_KEY: key,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    // Every test socket comes from 127.0.0.1: the anonymous budget per address would span a whole test file.
    // test/adapters/ws/addresses.test.ts sets it to test it.
    WS_ANONYMOUS_SESSIONS_PER_ADDRESS_PER_MINUTE: "0",
    // Messages are answered one by one, as each test expects; test/workers/bursts.test.ts sets the windows.
    ...NO_BURSTS,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: "memory://" }),
    ...env,
  };
  const hub = await startHub(loadConfig(fullEnv), kind === "pglite" && !env.DATA_DIR ? openTemplatePGlite() : undefined);
  const org = await hub.runtime.db.prisma.org.findFirstOrThrow({ where: { isDefault: true } });
  const url = hub.url as string;
  return {
    ...hub,
    url,
    key,
    orgId: org.id,
    env: fullEnv,
    async api(path, init = {}) {
      const res = await fetch(url + path, {
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...init.headers },
        body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      return { status: res.status, body, headers: res.headers };
    },
    async stop() {
      await hub.stop();
      if (databaseUrl) await dropTestDatabase(databaseUrl);
    },
  };
}
