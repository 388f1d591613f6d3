import { WebSocket } from "ws";

export type Frame = Record<string, any> & { type: string };

export interface TestSocket {
  ws: WebSocket;
  /** Every frame received so far, in order. */
  frames: Frame[];
  /** Waits for the first unread frame that matches (the frames before it count as read). */
  next(match?: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  send(frame: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

type Options = ConstructorParameters<typeof WebSocket>[2];

/** Opens /ws on a hub with the given query parameters; resolves once the socket is open. */
export function connect(baseUrl: string, query: Record<string, string> = {}, options: Options = {}) {
  return connectTo(baseUrl, "/ws", query, options);
}

/** Opens a socket endpoint of a hub (`path`), offering `protocols` if given; resolves once it is open. */
export function connectTo(baseUrl: string, path: string, query: Record<string, string> = {}, options: Options = {}, protocols?: string[]) {
  const url = new URL(path, baseUrl.replace(/^http/, "ws"));
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const ws = protocols ? new WebSocket(url, protocols, options) : new WebSocket(url, options);
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let read = 0;
  ws.on("message", (data) => {
    frames.push(JSON.parse(data.toString()));
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const socket: TestSocket = {
    ws,
    frames,
    closed,
    // At least a minute, as waitFor: a frame that comes is read as soon as it does; only a missing one waits.
    next(match = () => true, timeoutMs = 60_000) {
      const waitMs = Math.max(timeoutMs, 60_000);
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = read; i < frames.length; i++) {
            if (!match(frames[i])) continue;
            read = i + 1;
            waiters.delete(check);
            clearTimeout(timer);
            resolve(frames[i]);
            return;
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching frame in ${waitMs} ms; got ${JSON.stringify(frames.slice(read))}`));
        }, waitMs);
        waiters.add(check);
        check();
      });
    },
    send(frame) {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    },
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      await closed;
    },
  };
  return new Promise<TestSocket>((resolve, reject) => {
    ws.once("open", () => resolve(socket));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

export const isType = (type: string) => (f: Frame) => f.type === type;
export const botMessage = (f: Frame) => f.type === "message" && f.sender === "bot";
