import type { WebSocket, WebSocketServer } from "ws";

/**
 * Pings a socket server's clients every `ms` and drops one that did not answer the previous ping: a client
 * gone without a close (a laptop lid, a dead network) stops holding its listeners. `onBeat` runs each time.
 */
export function startHeartbeat(wss: WebSocketServer, ms: number, onBeat?: () => void) {
  const alive = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
    onBeat?.();
  }, ms);
  return {
    /** Counts a new socket alive, and alive again at each of its pongs. */
    track(ws: WebSocket) {
      alive.add(ws);
      ws.on("pong", () => alive.add(ws));
    },
    stop: () => clearInterval(timer),
  };
}
