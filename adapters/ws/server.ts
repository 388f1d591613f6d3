import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { EndUserTokenRules } from "../../src/auth/endusers";
import type { KeyRing } from "../../src/auth/keys";
import { DEFAULT_ASSISTANT } from "../../src/bootstrap";
import type { ClientAddresses } from "../../src/http/client-address";
import { metrics } from "../../src/metrics";
import { Connection, type ConnectionDeps, type ConnectionOptions } from "./connection";
import { startHeartbeat } from "./heartbeat";
import { openSession, purgeExpired } from "./sessions";
import { allowedAssistant, type Credentials, credentialsOf, identify, originAllowed } from "./visitors";

/** What a socket is opened with, read off its upgrade request. */
interface ConnectParams extends ConnectionOptions {
  credentials: Credentials;
  sessionId: string | null;
}

export interface SocketServerOptions {
  keys: KeyRing;
  endUserTokens: EndUserTokenRules;
  addresses: ClientAddresses;
  allowedOrigins: string[];
  maxFrameBytes: number;
  heartbeatMs: number;
  /** Other socket endpoints of the gateway, by path: each takes its own upgrade requests. */
  endpoints?: Record<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
}

/**
 * The /ws endpoint on the gateway's HTTP server: upgrade checks (path, origin), heartbeats that drop sockets
 * gone quiet, the periodic purge of expired anonymous sessions, and a clean close on shutdown.
 */
export function attachSocketServer(server: Server, deps: ConnectionDeps, options: SocketServerOptions) {
  // A frame over maxPayload closes the socket with 1009 (message too big), as RFC 6455 says.
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes });
  const connections = new Map<WebSocket, Connection>();
  const heartbeat = startHeartbeat(wss, options.heartbeatMs, () => deps.budget.renew());

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A request target such as `//` is no URL: thrown here, it would take the whole process down.
    const url = URL.canParse(req.url ?? "/", "http://gateway") ? new URL(req.url ?? "/", "http://gateway") : null;
    if (!url) return reject(socket, 400, "Bad Request");
    const endpoint = options.endpoints?.[url.pathname];
    if (endpoint) return endpoint(req, socket, head);
    if (url.pathname !== "/ws") return reject(socket, 404, "Not Found");
    if (!originAllowed(req, options.allowedOrigins)) return reject(socket, 403, "Forbidden");
    const query = url.searchParams;
    const params: ConnectParams = {
      credentials: credentialsOf(req, query),
      assistant: query.get("assistant_id") ?? DEFAULT_ASSISTANT,
      sessionId: query.get("session_id"),
      stream: ["1", "true"].includes(query.get("stream") ?? ""),
      lastMessageId: query.get("last_message_id"),
      address: options.addresses.of(req),
    };
    // Only `params` outlives the upgrade: what the socket's closures capture is kept for as long as it is open.
    wss.handleUpgrade(req, socket, head, (ws) => open(ws, params));
  };

  const open = (ws: WebSocket, params: ConnectParams) => {
    heartbeat.track(ws);
    metrics.sockets.inc();
    ws.on("error", () => {});
    ws.on("close", () => {
      connections.delete(ws);
      deps.budget.drop(ws);
      metrics.sockets.dec();
    });
    const admit = async () => {
      const visitor = await identify(deps.prisma, options.keys, options.endUserTokens, params.credentials);
      // Counted before anything is stored: a socket refused here leaves no session behind.
      if (!visitor.userId) await deps.budget.hold(ws, params.address);
      await allowedAssistant(deps.prisma, visitor, params.assistant);
      return openSession(deps.prisma, visitor, params.sessionId, deps.anonymousTtlMs);
    };
    connections.set(ws, new Connection(deps, ws, params, admit));
  };
  server.on("upgrade", onUpgrade);

  const purge = setInterval(
    () => purgeExpired(deps.prisma).catch((err) => deps.logger.warn({ err: err.message }, "anonymous session purge failed")),
    Math.min(deps.anonymousTtlMs, 60_000),
  );

  return {
    /** Open sockets on this gateway. */
    get size() {
      return wss.clients.size;
    },
    /** Tells every client to reconnect (to another gateway, or to this one once it is back) and closes. */
    async close() {
      heartbeat.stop();
      clearInterval(purge);
      server.off("upgrade", onUpgrade);
      for (const [ws, connection] of connections) {
        connection.send({ type: "status", status: "closing", session_id: connection.sessionId });
        ws.close(1001, "gateway shutting down");
      }
      // Clients answer the close at once; one that does not is cut off rather than holding up the shutdown.
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      for (const ws of wss.clients) ws.terminate();
    },
  };
}

function reject(socket: Duplex, status: number, reason: string) {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
