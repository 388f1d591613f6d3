import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import type { HubProcess } from "../test/support/processes";
import {
  type BenchOptions,
  cpuSeconds,
  type Layout,
  load,
  METRICS_TOKEN,
  type Row,
  serviceCounters,
  sleep,
  startLayout,
  startScript,
} from "./harness";
import type { LoadSpec } from "./load";

// The sync ask API's figures: turns/s against an Express echo, the hub's overhead per turn at a steady rate,
// and how turns/s scale from 1 gateway + 1 worker to 2 + 2.

const askSpec = (opts: BenchOptions, layout: Layout, gateway: HubProcess, extra: Partial<LoadSpec> = {}): LoadSpec => ({
  url: `${gateway.url}/api/ai-hub/assistant/ask`,
  kind: "ask",
  key: layout.key,
  connections: opts.connections,
  seconds: opts.seconds,
  ...extra,
});

/** An assistant provider's total time and calls so far, from the hub's /metrics. */
export async function assistantTotals(url: string, provider = "knowledge"): Promise<{ seconds: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const value = (name: string) =>
    Number(
      text
        .split("\n")
        .find((l) => l.startsWith(`${name}{provider="${provider}"} `))
        ?.split(" ")[1] ?? 0,
    );
  return { seconds: value("hub_assistant_duration_seconds_sum"), count: value("hub_assistant_duration_seconds_count") };
}

/** The overhead figure's load: turns a second, evenly spaced. */
const STEADY_RATE = 150;

export async function askBenchmarks(opts: BenchOptions, rows: Row[]) {
  const echo = await startScript<{ port: number }>("express-echo.ts");
  const baseline = await load({
    url: `http://127.0.0.1:${echo.ready.port}/echo`,
    kind: "echo",
    connections: opts.connections,
    seconds: opts.seconds,
  });
  echo.proc.kill();

  const layout = await startLayout("all");
  try {
    const hub = layout.gateways[0];
    await load(askSpec(opts, layout, hub, { seconds: 2 })); // warm up: JIT, connection pools, prepared statements
    const counted = await serviceCounters(layout);
    const peak = await load(askSpec(opts, layout, hub));
    // Postgres commits and Redis commands (those BullMQ's scripts run included) per turn. A backend reports
    // its commits to pg_stat_database within a second or so, hence the wait.
    await sleep(2000);
    const ended = await serviceCounters(layout);
    const perTurn = {
      commits: ((ended.commits - counted.commits) / peak.requests).toFixed(2),
      redisCommands: ((ended.redisCommands - counted.redisCommands) / peak.requests).toFixed(1),
    };
    const ratio = peak.perSecond / baseline.perSecond;
    rows.push({
      figure: "sync ask turns/s (complete reply, persisted)",
      hub: peak.perSecond.toFixed(0),
      baseline: `${baseline.perSecond.toFixed(0)} (Express echo)`,
      ratio,
      target: ">= 0.2x (stretch 0.25x)",
      met: ratio >= 0.2,
      detail: { peak, baseline, perTurn },
    });

    // The assistant's mean time over this run alone: under the peak run's load it was slower.
    const before = await assistantTotals(hub.url as string);
    const steady = await load(askSpec(opts, layout, hub, { rate: STEADY_RATE }));
    const after = await assistantTotals(hub.url as string);
    const assistantMs = ((after.seconds - before.seconds) / Math.max(1, after.count - before.count)) * 1000;
    const p50 = Math.max(0, steady.latencyMs.p50 - assistantMs);
    const p99 = Math.max(0, steady.latencyMs.p99 - assistantMs);
    rows.push({
      figure: `hub overhead per turn p50 / p99 at a steady ${STEADY_RATE} turns/s`,
      hub: `${p50.toFixed(1)} / ${p99.toFixed(1)} ms`,
      baseline: "none",
      ratio: null,
      target: "p50 < 5 ms, p99 < 25 ms",
      met: p50 < 5 && p99 < 25,
      detail: { latencyMs: steady.latencyMs, assistantMeanMs: assistantMs, non2xx: steady.non2xx, errors: steady.errors },
    });
  } finally {
    await layout.stop();
  }
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

export async function scalingBenchmark(opts: BenchOptions, rows: Row[]) {
  const results: Record<string, { perSecond: number; cpu: Record<string, string> }> = {};
  for (const n of [1, 2]) {
    const layout = await startLayout(n);
    try {
      await Promise.all(layout.gateways.map((g) => load(askSpec(opts, layout, g, { seconds: 2 }))));
      // Postgres starts a process per connection, and the hubs' pools connect under load: listed after the warm-up.
      const groups = {
        gateways: layout.gateways.map((p) => p.proc.pid as number),
        workers: layout.workers.map((p) => p.proc.pid as number),
        postgres: pidsOf("postgres"),
        redis: pidsOf("redis-server"),
      };
      const { result, cpu } = await withCpu(groups, () =>
        Promise.all(layout.gateways.map((g) => load(askSpec(opts, layout, g, { connections: Math.ceil(opts.connections / n) })))),
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
    detail: { "1+1 cpu": one.cpu, "2+2 cpu": two.cpu, bottleneck: `${busiest(two.cpu)} (of ${cpus().length} cores)` },
  });
}
