import { randomUUID } from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";
import { printResult } from "./child";
import { cpuSeconds } from "./harness";

// Conversations in a closed loop, in a process of its own: each sends its next message through the sync ask
// API as soon as the previous one was answered, as people chatting with an assistant do. Measured once every
// conversation has had its first answer: until then the hub is still taking the first messages in, and a hub
// that keeps fewer turns going than there are conversations is still filling its queue. Measured for `seconds`
// and until every conversation has been answered again: a hub that answers in waves further apart than
// `seconds` would otherwise show 0 or a whole wave by chance. Reads one JSON argument, prints one JSON result line.

export interface ConversationsSpec {
  /** The ask API's URL. */
  url: string;
  key: string;
  conversations: number;
  seconds: number;
  /** Processes whose CPU time over the measured seconds is reported, by name. */
  pids: Record<string, number>;
}

export interface ConversationsResult {
  /** Asks answered 200 within the measured time, and per second. */
  turns: number;
  perSecond: number;
  /** Of the answered asks. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Asks answered with any other status within the measured time, by status (202: not answered within ASK_TIMEOUT_MS). */
  other: Record<string, number>;
  errors: number;
  /** CPU seconds of each process of `pids` over the measured time. */
  cpuSeconds: Record<string, number>;
  /** Until every conversation had its first answer, and the measured time. */
  warmupSeconds: number;
  seconds: number;
}

const spec = JSON.parse(process.argv[2]) as ConversationsSpec;
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.conversations });
const run = Math.random().toString(36).slice(2, 8);
const latencies: number[] = [];
const other: Record<string, number> = {};
let errors = 0;
let phase: "warmup" | "measuring" | "done" = "warmup";
/** Asks answered (whatever the status) in each conversation so far. */
const answers: number[] = new Array(spec.conversations).fill(0);
let round: { since: number[]; left: number; resolve: () => void } | undefined;

/** Resolves once every conversation has had an answer from now on. */
const everyoneAnswered = () =>
  new Promise<void>((resolve) => {
    round = { since: [...answers], left: spec.conversations, resolve };
  });

/** One ask; resolves with its status, or 0 if it failed. */
function ask(conversation: string, n: number): Promise<number> {
  const body = JSON.stringify({
    message: { id: `${conversation}-${n}-${randomUUID()}`, role: "user", content: `Question ${n}: what are your opening hours?` },
    id: conversation,
    assistantId: "default",
  });
  const headers = { "content-type": "application/json", authorization: `Bearer ${spec.key}` };
  return new Promise((resolve) => {
    // Longer than the hub's ASK_TIMEOUT_MS (120 s by default), so that the hub's 202 comes first.
    const req = http.request(spec.url, { method: "POST", agent, headers, timeout: 150_000 }, (res) => {
      res.resume().on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

async function conversation(i: number) {
  const id = `bench-${run}-${i}`;
  for (let n = 0; phase !== "done"; n++) {
    const sent = performance.now();
    const status = await ask(id, n);
    answers[i]++;
    if (round && answers[i] === round.since[i] + 1 && --round.left === 0) round.resolve();
    if (phase !== "measuring") continue;
    if (status === 200) latencies.push(performance.now() - sent);
    else if (status === 0) errors++;
    else other[status] = (other[status] ?? 0) + 1;
  }
}

async function main(): Promise<ConversationsResult> {
  // Started over the first two seconds rather than at once, so that the turns do not come in waves.
  const begun = performance.now();
  const warm = everyoneAnswered();
  const all: Promise<void>[] = [];
  for (let i = 0; i < spec.conversations; i++) {
    all.push(conversation(i));
    await new Promise((resolve) => setTimeout(resolve, 2000 / spec.conversations));
  }
  await warm;
  phase = "measuring";
  const cpu = () => Object.fromEntries(Object.entries(spec.pids).map(([name, pid]) => [name, cpuSeconds([pid])]));
  const [started, cpuBefore] = [performance.now(), cpu()];
  await Promise.all([new Promise((resolve) => setTimeout(resolve, spec.seconds * 1000)), everyoneAnswered()]);
  phase = "done";
  const [elapsed, cpuAfter] = [(performance.now() - started) / 1000, cpu()];
  // The asks still open are answered before this ends, so that the hub stops with no turns left to do.
  await Promise.all(all);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1));
  return {
    turns: latencies.length,
    perSecond: latencies.length / elapsed,
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
    other,
    errors,
    cpuSeconds: Object.fromEntries(Object.entries(cpuAfter).map(([name, s]) => [name, Number((s - cpuBefore[name]).toFixed(2))])),
    warmupSeconds: Number(((started - begun) / 1000).toFixed(1)),
    seconds: Number(elapsed.toFixed(1)),
  };
}

printResult(main());
