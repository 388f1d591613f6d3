import { randomUUID } from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { signedWebhook, whatsapp } from "../test/support/twilio";
import { printResult } from "./child";

// The HTTP load generator, run in a process of its own so that it does not share an event loop with
// what it measures. Reads one JSON argument, prints one JSON result line.

export interface LoadSpec {
  url: string;
  /**
   * `ask`: a new message per request, spread over `conversations` conversations; `echo`: a fixed body;
   * `twilio`: a signed WhatsApp incoming-message webhook per request (see `twilio`).
   */
  kind: "ask" | "echo" | "twilio";
  key?: string;
  /** Connections at most. */
  connections: number;
  seconds: number;
  /** Requests per second in all, evenly spaced; unset: as fast as the server answers. */
  rate?: number;
  conversations?: number;
  /** For `twilio`: the auth token webhooks are signed with, the number they are sent to, and how many
   *  WhatsApp users they come from, in turn. */
  twilio?: { authToken: string; to: string; users: number };
}

export interface LoadResult {
  requests: number;
  perSecond: number;
  errors: number;
  non2xx: number;
  /** Requests sent again after a kept-alive connection was closed under them (paced load only). */
  resent?: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

type Request = { headers: Record<string, string>; body: string };

/** The requests of a spec, one new message each time. */
function requests(spec: LoadSpec): () => Request {
  let n = 0;
  const run = Math.random().toString(36).slice(2, 8);
  const question = () => `Question ${n}: what are your opening hours?`;
  const json = (body: unknown): Request => ({
    headers: { "content-type": "application/json", ...(spec.key ? { authorization: `Bearer ${spec.key}` } : {}) },
    body: JSON.stringify(body),
  });
  const ask = () =>
    json({
      message: { id: `${run}-${n}-${randomUUID()}`, role: "user", content: question() },
      id: `bench-${run}-${n % (spec.conversations ?? 1000)}`,
      assistantId: "default",
    });
  const webhook = (): Request => {
    const t = spec.twilio as NonNullable<LoadSpec["twilio"]>;
    const params = whatsapp(`+1555${String(n % t.users).padStart(7, "0")}`, t.to, question());
    return signedWebhook(t.authToken, new URL(spec.url).pathname, params);
  };
  return () => {
    n++;
    return spec.kind === "ask" ? ask() : spec.kind === "twilio" ? webhook() : json({ message: "hello" });
  };
}

/** As fast as the server answers, `connections` requests at a time. */
async function closedLoop(spec: LoadSpec, next: () => Request): Promise<LoadResult> {
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    requests: [{ method: "POST", setupRequest: (req) => ({ ...req, ...next() }) }],
  });
  return {
    requests: result.requests.total,
    perSecond: result.requests.total / spec.seconds,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  };
}

/**
 * `rate` requests a second, each sent when due whatever the server's pace (as Twilio and browsers send), its
 * latency counted from when it was due. Not autocannon's rate, which sends each connection's share of a
 * second in one burst at the start of the second.
 */
async function paced(spec: LoadSpec, next: () => Request): Promise<LoadResult> {
  const rate = spec.rate as number;
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const latencies: number[] = [];
  let [errors, non2xx, resent] = [0, 0, 0];
  const send = (due: number, request = next()) =>
    new Promise<void>((resolve) => {
      const req = http.request(spec.url, { method: "POST", agent, headers: request.headers, timeout: 30_000 }, (res) => {
        res.resume().on("end", () => {
          if ((res.statusCode ?? 0) >= 300) non2xx++;
          latencies.push(performance.now() - due);
          resolve();
        });
      });
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed as it was reused (its idle timeout): nothing reached the
        // hub, and a sender such as Twilio sends the request again. Latency still counts from when it was due.
        if (req.reusedSocket && err.code === "ECONNRESET") {
          resent++;
          return void send(due, request).then(resolve);
        }
        errors++;
        resolve();
      });
      req.end(request.body);
    });
  const started = performance.now();
  const sent: Promise<void>[] = [];
  for (let i = 0; i < rate * spec.seconds; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    sent.push(send(due));
  }
  await Promise.all(sent);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1));
  return {
    requests: latencies.length,
    perSecond: latencies.length / elapsed,
    errors,
    non2xx,
    resent,
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
  };
}

const spec = JSON.parse(process.argv[2]) as LoadSpec;
printResult((spec.rate ? paced : closedLoop)(spec, requests(spec)));
