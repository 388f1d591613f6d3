import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { createTestDatabaseUrl, dropTestDatabase } from "../test/support/databases";
import { REDIS_URL } from "../test/support/env";
import { type HubProcess, spawnHub } from "../test/support/processes";
import type { LoadResult, LoadSpec } from "./load";

// `npm run bench [-- --seconds 10 --json FILE]`: each figure is measured with its baseline in the same run
// on the same machine, and reported as a ratio, because absolute figures drift from run to run.
// The hub answers with the knowledge provider and no folders: an assistant that answers at once, so what is
// measured is the hub's own cost (HTTP, Postgres writes, the queue, the reply bus), on real Redis and Postgres.

const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, json: { type: "string" }, connections: { type: "string", default: "64" } },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const ROOT = path.join(__dirname, "..");

interface Row {
  figure: string;
  hub: string;
  baseline: string;
  ratio: number | null;
  target: string;
  met: boolean | null;
  detail?: Record<string, unknown>;
}

function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "load.ts"), JSON.stringify(spec)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop() as string)) : reject(new Error(`load exited ${code}`)),
    );
  });
}

function startScript(file: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, file)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve) => {
    proc.stdout?.once("data", (c: Buffer) => resolve({ proc, port: JSON.parse(c.toString()).port }));
  });
}

/** CPU seconds used so far by these processes (user + system), from /proc. */
function cpuSeconds(pids: number[]): number {
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

const pidsOf = (name: string) => execFileSync("pgrep", ["-f", name], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);

/** Runs `fn` and reports each group's CPU use as a share of one core over that time. */
async function withCpu<T>(groups: Record<string, number[]>, fn: () => Promise<T>): Promise<{ result: T; cpu: Record<string, string> }> {
  const before = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, cpuSeconds(pids)]));
  const started = Date.now();
  const result = await fn();
  const wall = (Date.now() - started) / 1000;
  const cpu = Object.fromEntries(
    Object.entries(groups).map(([k, pids]) => [k, `${Math.round(((cpuSeconds(pids) - before[k]) / wall) * 100)}%`]),
  );
  return { result, cpu };
}

interface Layout {
  gateways: HubProcess[];
  workers: HubProcess[];
  key: string;
  stop(): Promise<void>;
}

/** A hub on its own Postgres database and queue prefix: `n` gateways and `n` workers, or one `all` process. */
async function startLayout(n: number | "all"): Promise<Layout> {
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
  };
  const gateways: HubProcess[] = [];
  const workers: HubProcess[] = [];
  if (n === "all") gateways.push(await spawnHub({ ...env, ROLE: "all" }));
  else {
    // The first process applies the migrations; the rest start on a migrated database.
    gateways.push(await spawnHub({ ...env, ROLE: "gateway" }));
    for (let i = 1; i < n; i++) gateways.push(await spawnHub({ ...env, ROLE: "gateway" }));
    for (let i = 0; i < n; i++) workers.push(await spawnHub({ ...env, ROLE: "worker" }));
  }
  return {
    gateways,
    workers,
    key,
    async stop() {
      for (const p of [...gateways, ...workers]) p.proc.kill("SIGTERM");
      await Promise.all([...gateways, ...workers].map((p) => p.exited));
      await dropTestDatabase(databaseUrl);
    },
  };
}

const askSpec = (layout: Layout, gateway: HubProcess, extra: Partial<LoadSpec> = {}): LoadSpec => ({
  url: `${gateway.url}/api/ai-hub/assistant/ask`,
  kind: "ask",
  key: layout.key,
  connections: CONNECTIONS,
  seconds: SECONDS,
  ...extra,
});

async function assistantMeanMs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) =>
    Number(
      text
        .split("\n")
        .find((l) => l.startsWith(`${name}{provider="knowledge"} `))
        ?.split(" ")[1] ?? 0,
    );
  const count = value("hub_assistant_duration_seconds_count");
  return count ? (value("hub_assistant_duration_seconds_sum") / count) * 1000 : 0;
}

async function askBenchmarks(rows: Row[]) {
  const echo = await startScript("express-echo.ts");
  const baseline = await load({ url: `http://127.0.0.1:${echo.port}/echo`, kind: "echo", connections: CONNECTIONS, seconds: SECONDS });
  echo.proc.kill();

  const layout = await startLayout("all");
  try {
    const hub = layout.gateways[0];
    await load(askSpec(layout, hub, { seconds: 2 })); // warm up: JIT, connection pools, prepared statements
    const peak = await load(askSpec(layout, hub));
    const ratio = peak.perSecond / baseline.perSecond;
    rows.push({
      figure: "sync ask turns/s (complete reply, persisted)",
      hub: peak.perSecond.toFixed(0),
      baseline: `${baseline.perSecond.toFixed(0)} (Express echo)`,
      ratio,
      target: ">= 0.4x",
      met: ratio >= 0.4,
      detail: { peak, baseline },
    });

    const half = await load(askSpec(layout, hub, { rate: Math.max(1, Math.round(peak.perSecond / 2)) }));
    const assistantMs = await assistantMeanMs(hub.url as string);
    const p50 = Math.max(0, half.latencyMs.p50 - assistantMs);
    const p99 = Math.max(0, half.latencyMs.p99 - assistantMs);
    rows.push({
      figure: `hub overhead per turn p50 / p99 at ${Math.round(peak.perSecond / 2)}/s (half of peak)`,
      hub: `${p50.toFixed(1)} / ${p99.toFixed(1)} ms`,
      baseline: "none",
      ratio: null,
      target: "p50 < 5 ms, p99 < 25 ms",
      met: p50 < 5 && p99 < 25,
      detail: { latencyMs: half.latencyMs, assistantMeanMs: assistantMs, non2xx: half.non2xx, errors: half.errors },
    });
  } finally {
    await layout.stop();
  }
}

async function scalingBenchmark(rows: Row[]) {
  const results: Record<string, { perSecond: number; cpu: Record<string, string> }> = {};
  for (const n of [1, 2]) {
    const layout = await startLayout(n);
    try {
      const groups = {
        gateways: layout.gateways.map((p) => p.proc.pid as number),
        workers: layout.workers.map((p) => p.proc.pid as number),
        postgres: pidsOf("postgres"),
        redis: pidsOf("redis-server"),
      };
      await Promise.all(layout.gateways.map((g) => load(askSpec(layout, g, { seconds: 2 }))));
      const { result, cpu } = await withCpu(groups, () =>
        Promise.all(layout.gateways.map((g) => load(askSpec(layout, g, { connections: Math.ceil(CONNECTIONS / n) })))),
      );
      results[`${n}+${n}`] = { perSecond: result.reduce((s, r) => s + r.perSecond, 0), cpu };
    } finally {
      await layout.stop();
    }
  }
  const [one, two] = [results["1+1"], results["2+2"]];
  const busiest = (cpu: Record<string, string>) =>
    Object.entries(cpu).sort((a, b) => Number.parseInt(b[1], 10) - Number.parseInt(a[1], 10))[0][0];
  rows.push({
    figure: "ask turns/s, 2 gateways + 2 workers vs 1 + 1",
    hub: two.perSecond.toFixed(0),
    baseline: `${one.perSecond.toFixed(0)} (1 + 1)`,
    ratio: two.perSecond / one.perSecond,
    target: "reported",
    met: null,
    detail: { "1+1 cpu": one.cpu, "2+2 cpu": two.cpu, bottleneck: `${busiest(two.cpu)} (of ${require("node:os").cpus().length} cores)` },
  });
}

function print(rows: Row[]) {
  const table = [
    ["figure", "hub", "baseline", "ratio", "target", "met"],
    ...rows.map((r) => [
      r.figure,
      r.hub,
      r.baseline,
      r.ratio === null ? "" : `${r.ratio.toFixed(2)}x`,
      r.target,
      r.met === null ? "" : r.met ? "yes" : "NO",
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(table[0]));
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
  for (const row of table.slice(1)) console.log(line(row));
  for (const r of rows) if (r.detail) console.log(`\n${r.figure}:\n${JSON.stringify(r.detail)}`);
}

async function main() {
  const rows: Row[] = [];
  await askBenchmarks(rows);
  await scalingBenchmark(rows);
  print(rows);
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, rows }, null, 2)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
