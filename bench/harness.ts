import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import Redis from "ioredis";
import { Client } from "pg";
import { createTestDatabaseUrl, dropTestDatabase } from "../test/support/databases";
import { REDIS_URL } from "../test/support/env";
import { type HubProcess, spawnHub } from "../test/support/processes";
import type { LoadResult, LoadSpec } from "./load";

// What every figure of `npm run bench` uses: the run's options, the table row, the processes that generate
// load or stand in as baselines (each a script of bench/ in a process of its own), and the hub's layouts.

export interface BenchOptions {
  seconds: number;
  /** HTTP connections of the ask and Twilio load. */
  connections: number;
  /** Sockets taking turns in the WebSocket figure. */
  sockets: number;
  /** Idle sockets held open in the memory figure. */
  idleSockets: number;
  /** The retrieval figure's modes by name; all when not given. */
  retrievalModes?: string[];
}

export interface Row {
  figure: string;
  hub: string;
  baseline: string;
  ratio: number | null;
  target: string;
  met: boolean | null;
  detail?: Record<string, unknown>;
}

const ROOT = path.join(__dirname, "..");

const script = (file: string, spec?: object, env: Record<string, string> = {}) =>
  spawn(process.execPath, ["--import", "tsx", path.join(__dirname, file), ...(spec ? [JSON.stringify(spec)] : [])], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });

/** Runs a script of bench/ to its end and returns the JSON line it printed last. */
export function runChild<T>(file: string, spec: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = script(file, spec);
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop() as string)) : reject(new Error(`${file} exited ${code}`)),
    );
  });
}

export const load = (spec: LoadSpec) => runChild<LoadResult>("load.ts", spec);

/** Starts a script of bench/ that runs until killed; resolves with the JSON line it prints once it is ready. */
export function startScript<T>(file: string, spec?: object, env?: Record<string, string>): Promise<{ proc: ChildProcess; ready: T }> {
  const proc = script(file, spec, env);
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve({ proc, ready: JSON.parse(out.split("\n")[0]) });
    });
    proc.on("exit", (code) => reject(new Error(`${file} exited ${code} before it was ready`)));
  });
}

/** Resident memory of a process in KB, from /proc. */
export const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);

/** CPU seconds used so far by these processes (user + system), from /proc. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended; its time is gone with it.
    }
  }
  return ticks / 100;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Node options for every hub process: `--profile DIR` adds `--cpu-prof` writing there. */
const hubNodeArgs: string[] = [];
export function profileHubsInto(dir: string) {
  hubNodeArgs.push("--cpu-prof", `--cpu-prof-dir=${path.resolve(dir)}`);
}

export interface Layout {
  gateways: HubProcess[];
  workers: HubProcess[];
  key: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

/** Every bench hub serves /metrics on its API port for this token. */
export const METRICS_TOKEN = "bench-metrics-token";

/**
 * A hub on its own Postgres database and queue prefix: `n` gateways and `n` workers, or one `all` process.
 * `extraEnv` adds to (or overrides) the bench's environment, e.g. a channel's credentials.
 */
export async function startLayout(n: number | "all", extraEnv: Record<string, string> = {}): Promise<Layout> {
  const databaseUrl = await createTestDatabaseUrl();
  const key = `bench_${randomBytes(12).toString("hex")}`;
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: `bench${randomBytes(4).toString("hex")}`,
    BOOTSTRAP_API_KEY: key,
    PORT: "0",
    HOST: "127.0.0.1",
    RATE_LIMIT_PER_MINUTE: "100000000",
    // Every bench socket is an anonymous visitor from 127.0.0.1.
    WS_ANONYMOUS_SESSIONS_PER_ADDRESS: "0",
    WS_ANONYMOUS_SESSIONS_PER_ADDRESS_PER_MINUTE: "0",
    WS_ANONYMOUS_PER_ADDRESS_PER_MINUTE: "0",
    // The figures are of the pipeline: a burst window is a wait on purpose (each message waits it out).
    WHATSAPP_BURST_MS: "0",
    WS_BURST_MS: "0",
    METRICS_TOKEN,
    ...extraEnv,
  };
  const gateways: HubProcess[] = [];
  const workers: HubProcess[] = [];
  const hub = (role: string) => spawnHub({ ...env, ROLE: role }, hubNodeArgs);
  if (n === "all") gateways.push(await hub("all"));
  else {
    // The first process applies the migrations; the rest start on a migrated database.
    gateways.push(await hub("gateway"));
    for (let i = 1; i < n; i++) gateways.push(await hub("gateway"));
    for (let i = 0; i < n; i++) workers.push(await hub("worker"));
  }
  return {
    gateways,
    workers,
    key,
    databaseUrl,
    async stop() {
      for (const p of [...gateways, ...workers]) p.proc.kill("SIGTERM");
      await Promise.all([...gateways, ...workers].map((p) => p.exited));
      await dropTestDatabase(databaseUrl);
    },
  };
}

/**
 * Postgres commits in the layout's database and commands Redis processed (all of its clients) so far: read
 * before and after a run, they give what a turn costs each.
 */
export async function serviceCounters(layout: Layout): Promise<{ commits: number; redisCommands: number }> {
  const pg = new Client({ connectionString: layout.databaseUrl });
  await pg.connect();
  const redis = new Redis(REDIS_URL);
  try {
    const { rows } = await pg.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
    const info = await redis.info("stats");
    return { commits: Number(rows[0].xact_commit), redisCommands: Number(/total_commands_processed:(\d+)/.exec(info)?.[1]) };
  } finally {
    await pg.end();
    redis.disconnect();
  }
}
