import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { z } from "zod";
import { bearer, type KeyRing } from "../../src/auth/keys";
import type { OperatorSessions } from "../../src/auth/operators";
import { fieldIssues, type HubError } from "../../src/errors";
import { CONSOLE_COOKIE, cookieOf, sameOrigin } from "../../src/http/auth";
import { toHubError } from "../../src/http/body";
import type { Logger } from "../../src/logger";
import { DEFAULT_OPERATOR_NAME, type OperatorDeps, operatorTyping } from "../../src/operators";
import type { TurnEvent, WireMessage } from "../../src/types";
import { startHeartbeat } from "./heartbeat";
import { originAllowed } from "./visitors";

// /ws/operators: the live events of every conversation of an org, for its operators' inbox (issue #14).
// Not the visitors' /ws protocol: an operator sees all the org's conversations and speaks for the business.
//
// Authentication: the org's API key. A server sends `Authorization: Bearer <key>`; a browser, which cannot
// set headers on a WebSocket, offers two subprotocols: `new WebSocket(url, ["hub.operators", "bearer.<key>"])`
// (the key stays out of URLs, hence out of access logs; the server answers `hub.operators`). A missing or
// invalid key: an error frame, then close 4401.
// The console's session cookie works too (issue #15), but only from a page of the hub itself: a cookie
// upgrade whose Origin is not the hub's host gets 403, or any site could open a socket as the operator
// (cross-site WebSocket hijacking; SameSite does not cover another port of the same host).
//
// Server -> client, JSON text frames (the management API's field names):
//   status  {status: "connected" | "closing", orgId}
//   message {conversationId, message: {id, role, content, createdAt, inReplyToId, author?}}: a user's message,
//           an assistant reply, an operator's (author {kind: "operator", name}); the same id may come twice
//           (a retried turn publishes its reply again): key messages by id
//   typing  {conversationId, author: {kind: "assistant"} | {kind: "operator", name}}
//   state   {conversationId, state: "bot" | "waiting" | "human", assignee, reason?, at}
//   error   {error, message, issues?}
// Client -> server:
//   {"type": "typing", "conversationId": "<id or channel id>", "author": "<name>"}: shown to the user's widget
//   and the other operators; at most one a second per conversation is passed on.

export const OPERATORS_PATH = "/ws/operators";
const PROTOCOL = "hub.operators";
const KEY_PROTOCOL = "bearer.";
const TYPING_EVERY_MS = 1000;
// An operator's client that stops reading while its org's events keep coming is cut off here, rather than have
// the gateway hold them all; it reconnects and reads the inbox again.
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

const clientFrame = z.strictObject({
  type: z.literal("typing"),
  conversationId: z.string().min(1).max(200),
  author: z.string().trim().min(1).max(100).optional(),
});

export interface OperatorSocketDeps {
  keys: KeyRing;
  sessions: OperatorSessions;
  operators: OperatorDeps;
  logger: Logger;
  allowedOrigins: string[];
  maxFrameBytes: number;
  heartbeatMs: number;
}

/** The operators' endpoint: `upgrade` takes the upgrade requests for OPERATORS_PATH (see server.ts). */
export function operatorSocketServer(deps: OperatorSocketDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxFrameBytes,
    // Never the key's protocol back: answered, it would be echoed in the handshake's response.
    handleProtocols: (offered) => (offered.has(PROTOCOL) ? PROTOCOL : false),
  });
  const heartbeat = startHeartbeat(wss, deps.heartbeatMs);
  const orgOf = new Map<WebSocket, string>();

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!originAllowed(req, deps.allowedOrigins))
      return socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    const secret = keyOf(req);
    const cookie = secret ? null : cookieOf(req.headers, CONSOLE_COOKIE);
    if (cookie && !sameOrigin(req.headers)) return socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    wss.handleUpgrade(req, socket, head, (ws) => {
      heartbeat.track(ws);
      ws.on("error", () => {});
      ws.on("close", () => orgOf.delete(ws));
      admit(ws, secret, cookie).catch((err) => {
        deps.logger.error({ err }, "operator socket could not be opened");
        refuse(ws, null);
      });
    });
  };

  const admit = async (ws: WebSocket, secret: string | null, cookie: string | null) => {
    const principal = secret ? await deps.keys.authenticate(secret) : cookie ? await deps.sessions.authenticate(cookie) : null;
    if (!principal) return refuse(ws, { status: 401, code: "unauthorized", message: "Invalid or missing API key or console session" });
    // Gone while its key was checked: nothing to listen for.
    if (ws.readyState !== ws.OPEN) return;
    orgOf.set(ws, principal.orgId);
    const off = deps.operators.bus.onOrg(principal.orgId, (event) => {
      const frame = frameOf(event);
      if (!frame) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) ws.close(1013, "not reading: reconnect");
      else send(ws, frame);
    });
    ws.on("close", off);
    if (cookie) {
      // The session ending (logout, expiry, its operator removed) ends its socket too, or a removed operator
      // would go on reading the org's conversations. Checked at each heartbeat; a database error keeps it open.
      const recheck = setInterval(async () => {
        const live = await deps.sessions.authenticate(cookie).catch(() => true);
        if (!live) refuse(ws, { status: 401, code: "unauthorized", message: "The console session has ended" });
      }, deps.heartbeatMs);
      ws.on("close", () => clearInterval(recheck));
    }
    send(ws, { type: "status", status: "connected", orgId: principal.orgId });
    const typed = new Map<string, number>();
    let inbound: Promise<void> = Promise.resolve();
    ws.on("message", (data, isBinary) => {
      inbound = inbound.then(() => receive(ws, principal, typed, data, isBinary));
    });
  };

  const receive = async (
    ws: WebSocket,
    principal: { orgId: string; email?: string },
    typed: Map<string, number>,
    data: RawData,
    isBinary: boolean,
  ) => {
    const parsed = isBinary ? null : parse(data.toString());
    if (!parsed?.success) {
      const issues = parsed ? fieldIssues(parsed.error.issues) : [];
      return send(ws, { type: "error", error: "invalid_message", message: "Frames are JSON text: {type: typing, conversationId}", issues });
    }
    const { conversationId, author } = parsed.data;
    if (Date.now() - (typed.get(conversationId) ?? 0) < TYPING_EVERY_MS) return;
    if (typed.size > 1000) typed.clear();
    typed.set(conversationId, Date.now());
    try {
      await operatorTyping(deps.operators, {
        orgId: principal.orgId,
        conversationRef: conversationId,
        author: { kind: "operator", name: author ?? principal.email ?? DEFAULT_OPERATOR_NAME },
      });
    } catch (err) {
      const known = toHubError(err);
      if (!known) deps.logger.error({ err }, "operator typing not sent");
      send(ws, errorFrame(known ?? { code: "unavailable", message: "Not sent; try again" }));
    }
  };

  return {
    upgrade,
    async close() {
      heartbeat.stop();
      for (const [ws, orgId] of orgOf) {
        send(ws, { type: "status", status: "closing", orgId });
        ws.close(1001, "gateway shutting down");
      }
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      for (const ws of wss.clients) ws.terminate();
    },
  };
}

/** The API key of the upgrade request: its Bearer header, or the browser's `bearer.<key>` subprotocol. */
function keyOf(req: IncomingMessage): string | null {
  const fromHeader = bearer(req.headers.authorization);
  if (fromHeader) return fromHeader;
  const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const key = offered.find((p) => p.startsWith(KEY_PROTOCOL))?.slice(KEY_PROTOCOL.length);
  return key || null;
}

function parse(raw: string) {
  try {
    return clientFrame.safeParse(JSON.parse(raw));
  } catch {
    return null;
  }
}

/** What operators see of a bus event; null for what they do not follow (the reply's deltas). */
function frameOf(event: TurnEvent): object | null {
  const { conversationId } = event;
  switch (event.type) {
    case "accepted":
    case "reply":
    case "outbound":
      return { type: "message", conversationId, message: messageView(event.message) };
    case "typing":
      return { type: "typing", conversationId, author: { kind: "assistant" } };
    case "operator_typing":
      return { type: "typing", conversationId, author: event.author };
    case "state": {
      const { orgId: _org, ...state } = event;
      return state;
    }
    default:
      return null;
  }
}

const messageView = (m: WireMessage) => ({
  id: m.id,
  role: m.role,
  content: m.content,
  createdAt: m.createdAt,
  inReplyToId: m.inReplyToId,
  ...(m.author ? { author: m.author } : {}),
});

const errorFrame = (err: Pick<HubError, "code" | "message">) => ({ type: "error", error: err.code, message: err.message });

function refuse(ws: WebSocket, err: (Pick<HubError, "code" | "message"> & { status: number }) | null) {
  send(ws, errorFrame(err ?? { code: "unavailable", message: "Try again in a moment" }));
  ws.close(err ? 4000 + err.status : 1011, err?.code ?? "unavailable");
}

function send(ws: WebSocket, frame: object) {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
}
