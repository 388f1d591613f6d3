import { randomUUID } from "node:crypto";
import autocannon from "autocannon";

// The HTTP load generator, run in a process of its own so that it does not share an event loop with
// what it measures. Reads one JSON argument, prints one JSON result line.

export interface LoadSpec {
  url: string;
  /** `ask`: a new message per request, spread over `conversations` conversations; `echo`: a fixed body. */
  kind: "ask" | "echo";
  key?: string;
  connections: number;
  seconds: number;
  /** Requests per second in all; unset: as fast as the server answers. */
  rate?: number;
  conversations?: number;
}

export interface LoadResult {
  requests: number;
  perSecond: number;
  errors: number;
  non2xx: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  let n = 0;
  const run = Math.random().toString(36).slice(2, 8);
  const askBody = () => {
    n++;
    return JSON.stringify({
      message: { id: `${run}-${n}-${randomUUID()}`, role: "user", content: `Question ${n}: what are your opening hours?` },
      id: `bench-${run}-${n % (spec.conversations ?? 1000)}`,
      assistantId: "default",
    });
  };
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", ...(spec.key ? { authorization: `Bearer ${spec.key}` } : {}) },
        setupRequest: (req) => ({ ...req, body: spec.kind === "ask" ? askBody() : '{"message":"hello"}' }),
      },
    ],
  });
  return {
    requests: result.requests.total,
    perSecond: result.requests.total / spec.seconds,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  };
}

run(JSON.parse(process.argv[2]) as LoadSpec).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
