import { once } from "node:events";
import { readFileSync } from "node:fs";
import { WebSocket } from "ws";
import { freePort } from "../test/support/processes";
import { type BenchOptions, type Row, rssKb, runChild, sleep, startLayout, startScript } from "./harness";
import type { WsLoadResult, WsLoadSpec } from "./ws-load";

// The WebSocket channel's figures, each against a bare `ws` server (ws-echo.ts) driven by the same client
// (ws-load.ts): turns/s over many sockets taking turns, and memory per idle socket with many open.

const hubSocketUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, "ws")}/ws`;

export async function wsBenchmark(opts: BenchOptions, rows: Row[]) {
  const turns = (url: string, echo: boolean, seconds = opts.seconds) =>
    runChild<WsLoadResult>("ws-load.ts", { url, mode: "turns", sockets: opts.sockets, seconds, echo } satisfies WsLoadSpec);
  const echo = await startScript<{ port: number }>("ws-echo.ts");
  const baseline = await turns(`ws://127.0.0.1:${echo.ready.port}`, true);
  echo.proc.kill();

  const layout = await startLayout("all");
  try {
    const url = hubSocketUrl(layout.gateways[0].url as string);
    await turns(url, false, 2); // warm up, as for the ask figure
    const hub = await turns(url, false);
    const ratio = hub.perSecond / baseline.perSecond;
    // The same pipeline as the sync ask without an HTTP request a turn: it should go at least as fast.
    const ask = rows.find((r) => r.figure.startsWith("sync ask"));
    rows.push({
      figure: `WebSocket turns/s (message in, reply out, persisted), ${opts.sockets} sockets`,
      hub: hub.perSecond.toFixed(0),
      baseline: `${baseline.perSecond.toFixed(0)} (bare ws echo)`,
      ratio,
      target: ask ? `>= sync ask's ${ask.hub} turns/s` : ">= sync ask's turns/s (run with ask)",
      met: ask ? hub.perSecond >= Number(ask.hub) : null,
      detail: { hub, baseline },
    });
  } finally {
    await layout.stop();
  }
}

// Time for a server to finish what opening the sockets started before its memory is read.
const SETTLE_MS = 2000;
// One client process holds at most this many sockets: each is a file descriptor, and no process may raise
// its own limit past the hard one.
const PER_CLIENT = Number(/Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1]) - 100;

interface Server {
  pid: number;
  /** Where the server's inspector listens (NODE_OPTIONS=--inspect), to collect its garbage. */
  inspectPort: number;
}

const inspectable = async () => {
  const inspectPort = await freePort();
  return { inspectPort, env: { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` } };
};

/**
 * The server's memory after a full garbage collection, run through its inspector: V8 keeps garbage long in a
 * mostly idle process, and it would count towards one reading and not the other. `rssKb`: resident memory,
 * what the machine pays; `heapKb`: V8's live objects and the buffers they hold, the part the code decides.
 */
async function memoryAfterGc(server: Server): Promise<{ rssKb: number; heapKb: number }> {
  const [target] = (await (await fetch(`http://127.0.0.1:${server.inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await once(ws, "open");
  const call = async (method: string, params = {}) => {
    ws.send(JSON.stringify({ id: 1, method, params }));
    const [data] = await once(ws, "message");
    return JSON.parse(data.toString()).result;
  };
  await call("HeapProfiler.collectGarbage");
  const usage = await call("Runtime.evaluate", { expression: "process.memoryUsage()", returnByValue: true });
  ws.close();
  return { rssKb: rssKb(server.pid), heapKb: (usage.result.value.heapUsed + usage.result.value.external) / 1024 };
}

/** Opens `count` idle sockets, in as many client processes as their file descriptors need. */
function holdSockets(url: string, echo: boolean, count: number) {
  const shares = Array.from({ length: Math.ceil(count / PER_CLIENT) }, (_, i) => Math.min(PER_CLIENT, count - i * PER_CLIENT));
  const spec = (sockets: number): WsLoadSpec => ({ url, mode: "hold", sockets, seconds: 0, echo });
  return Promise.all(shares.map((sockets) => startScript<{ open: number; failed: number }>("ws-load.ts", spec(sockets))));
}

/**
 * How much the server's memory grows per socket while it holds `count` idle sockets. Measured over the second
 * half: memory a process had committed but not used (a large heap after start-up) fills with the first half's
 * sockets and would otherwise make them look cheap.
 */
async function idleSocketKb(server: Server, url: string, echo: boolean, count: number) {
  const first = await holdSockets(url, echo, Math.floor(count / 2));
  await sleep(SETTLE_MS);
  const before = await memoryAfterGc(server);
  const second = await holdSockets(url, echo, count - Math.floor(count / 2));
  await sleep(SETTLE_MS);
  const after = await memoryAfterGc(server);
  const clients = [...first, ...second];
  for (const c of clients) c.proc.kill();
  const measured = second.reduce((s, c) => s + c.ready.open, 0);
  const perSocket = (kb: "rssKb" | "heapKb") => Number(((after[kb] - before[kb]) / measured).toFixed(2));
  return {
    open: clients.reduce((s, c) => s + c.ready.open, 0),
    failed: clients.reduce((s, c) => s + c.ready.failed, 0),
    before,
    after,
    rssKbPerSocket: perSocket("rssKb"),
    heapKbPerSocket: perSocket("heapKb"),
  };
}

export async function memoryBenchmark(opts: BenchOptions, rows: Row[]) {
  const bare = await inspectable();
  const echo = await startScript<{ port: number }>("ws-echo.ts", undefined, bare.env);
  const baseline = await idleSocketKb(
    { pid: echo.proc.pid as number, inspectPort: bare.inspectPort },
    `ws://127.0.0.1:${echo.ready.port}`,
    true,
    opts.idleSockets,
  );
  echo.proc.kill();

  const inspector = await inspectable();
  const layout = await startLayout("all", inspector.env);
  try {
    const gateway = layout.gateways[0];
    // Anonymous visitors, as the widget opens them: each socket is a new session.
    const hub = await idleSocketKb(
      { pid: gateway.proc.pid as number, inspectPort: inspector.inspectPort },
      hubSocketUrl(gateway.url as string),
      false,
      opts.idleSockets,
    );
    // The ratio is of the heap: it comes out the same to 0.1 KB run after run, where resident memory moves by
    // a KB or two per socket with when V8 gives pages back. What the heap leaves out (a socket's libuv handle)
    // is the same in both servers.
    const ratio = hub.heapKbPerSocket / baseline.heapKbPerSocket;
    const kb = (m: { heapKbPerSocket: number; rssKbPerSocket: number }) =>
      `${m.heapKbPerSocket.toFixed(1)} KB heap (${m.rssKbPerSocket.toFixed(1)} KB resident)`;
    rows.push({
      figure: `memory per idle WebSocket (anonymous visitor), ${opts.idleSockets} open`,
      hub: kb(hub),
      baseline: `${kb(baseline)}, bare ws`,
      ratio,
      target: "<= 2x",
      met: ratio <= 2 && hub.failed === 0,
      detail: { hub, baseline },
    });
  } finally {
    await layout.stop();
  }
}
