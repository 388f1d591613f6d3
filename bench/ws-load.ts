import { randomUUID } from "node:crypto";
import { WebSocket } from "ws";

// The WebSocket load generator, in a process of its own as load.ts is for HTTP. Reads one JSON argument:
//   turns: `sockets` sockets each send a message and wait for its answer before the next, for `seconds`;
//          prints one JSON line, a WsLoadResult.
//   hold:  opens `sockets` idle sockets, prints {open, failed} once every one is open, and holds them until
//          killed.

export interface WsLoadSpec {
  url: string;
  mode: "turns" | "hold";
  sockets: number;
  /** How long `turns` runs. */
  seconds: number;
  /** The server echoes each frame (the baseline). Else it is the hub: a socket is open once its `status`
   *  frame came, and a message is answered by a bot `message` frame with reply_to. */
  echo: boolean;
}

export interface WsLoadResult {
  sockets: number;
  turns: number;
  perSecond: number;
  /** `error` frames, and sockets that closed or failed during the run. */
  errors: number;
}

// Sockets opening at once: enough to keep the server busy, few enough that none times out.
const OPENING = 100;

function open(spec: WsLoadSpec): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(spec.url);
    ws.on("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    if (spec.echo) ws.once("open", () => resolve(ws));
    else ws.once("message", (data) => (JSON.parse(data.toString()).status === "connected" ? resolve(ws) : reject(new Error(`${data}`))));
  });
}

async function openAll(spec: WsLoadSpec): Promise<{ sockets: WebSocket[]; failed: number }> {
  const sockets: WebSocket[] = [];
  let [started, failed] = [0, 0];
  const opener = async () => {
    while (started++ < spec.sockets) {
      await open(spec).then(
        (ws) => sockets.push(ws),
        () => failed++,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPENING, spec.sockets) }, opener));
  return { sockets, failed };
}

async function converse(spec: WsLoadSpec): Promise<WsLoadResult> {
  const { sockets, failed } = await openAll(spec);
  const run = randomUUID().slice(0, 8);
  let [turns, errors, counting] = [0, failed, true];
  sockets.forEach((ws, i) => {
    let n = 0;
    const ask = () => {
      n++;
      ws.send(JSON.stringify({ type: "message", id: `${run}-${i}-${n}`, content: `Question ${n}: what are your opening hours?` }));
    };
    ws.on("message", (data) => {
      if (!counting) return;
      const frame = JSON.parse(data.toString());
      if (frame.type === "error") errors++;
      else if (spec.echo || (frame.type === "message" && frame.reply_to)) turns++;
      else return;
      ask();
    });
    ws.on("close", () => counting && errors++);
    ask();
  });
  await new Promise((resolve) => setTimeout(resolve, spec.seconds * 1000));
  counting = false;
  return { sockets: sockets.length, turns, perSecond: turns / spec.seconds, errors };
}

/** Opens the sockets and returns: they keep the process alive, idle, until it is killed. */
async function hold(spec: WsLoadSpec): Promise<void> {
  const { sockets, failed } = await openAll(spec);
  process.stdout.write(`${JSON.stringify({ open: sockets.length, failed })}\n`);
}

const spec = JSON.parse(process.argv[2]) as WsLoadSpec;
const done =
  spec.mode === "hold"
    ? hold(spec)
    : converse(spec).then((r) => {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        process.exit(0);
      });
done.catch((err) => {
  console.error(err);
  process.exit(1);
});
