import { z } from "zod";
import { KEY_OR_CONSOLE, type Operation } from "../../src/http/openapi";
import { OPERATORS_PATH } from "./operators";

// The socket channel's routes for the OpenAPI document. OpenAPI has no words for a WebSocket: each socket is
// a GET that upgrades (101), its frames described in prose; the protocols are in frames.ts and operators.ts.

const tag = "WebSocket";
const secretError = z.object({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export const wsOperations: Operation[] = [
  {
    tag,
    method: "get",
    path: "/ws",
    operationId: "connectSocket",
    summary: "The chat socket (General Bots' /ws protocol): upgrade with `Connection: Upgrade`, `Upgrade: websocket`",
    description:
      "JSON text frames (adapters/ws/frames.ts). Client: `{type: 'message', content, session_id?, id?, assistant_id?}`; " +
      "`{type: 'feedback', message_id, rating: 'up'|'down', comment?}` rates an answer of the session's own conversation. " +
      "Server, the seed's five types: `status` (first: `connected`, with `session_id` and `conversation_id`; later `expired`, " +
      "`closing`), `message` (`sender` user or bot), `typing`, `suggestion`, `error` (`code` from the seed's table); plus " +
      "`delta` with `stream=1`, and `feedback` (`message_id`, `rating`, `comment`) acknowledging a rating. No credential: an anonymous visitor. A refused credential gets an `error` frame, then close " +
      "code 4000 + the HTTP status (4401).",
    auth: false,
    query: z.object({
      token: z.string().optional().describe("An end-user JWT signed with the org's end-user secret (or send `Authorization: Bearer`)"),
      org: z.string().optional().describe("An anonymous visitor's org (default: the default org)"),
      user_id: z.string().optional().describe("With an API key as `Authorization: Bearer`: the user the server speaks for"),
      assistant_id: z.string().optional().describe("The assistant to talk to (default: `default`)"),
      session_id: z.string().optional().describe("Resume this session"),
      last_message_id: z.string().optional().describe("Catch up with the messages after this one"),
      stream: z.enum(["1", "true"]).optional().describe("Send the reply's `delta` frames as it is written"),
    }),
    responses: {
      101: { description: "Switching protocols: the socket is open" },
      default: { description: "Not upgraded: without the Upgrade headers, the hub's JSON 404" },
      400: { description: "Not a valid request target" },
      403: { description: "The Origin is not in WS_ALLOWED_ORIGINS" },
    },
  },
  {
    tag,
    method: "get",
    path: OPERATORS_PATH,
    operationId: "connectOperatorSocket",
    summary: "The operators' socket: the org's conversations' messages and handoffs as they happen, and operator typing",
    description:
      "The org's API key as `Authorization: Bearer`, or from a browser as the subprotocols `hub.operators`, `bearer.<key>`. " +
      "Server frames: `status` (`connected`, with `orgId`), `message`, `typing`, `state` (handoffs), `error`. Client frames: " +
      "`{type: 'typing', conversationId, author?}`. A missing or invalid key gets an `error` frame, then close code 4401.",
    responses: {
      101: { description: "Switching protocols: the socket is open" },
      default: { description: "Not upgraded: without the Upgrade headers, the hub's JSON 404" },
      400: { description: "Not a valid request target" },
    },
  },
  {
    tag,
    method: "post",
    path: "/api/ws/end-user-secret",
    operationId: "setEndUserSecret",
    auth: KEY_OR_CONSOLE,
    summary: "Set the secret the org's backend signs end-user tokens with, and read it once: old tokens stop working",
    body: z.object({ secret: z.string().min(32).optional().describe("At least 32 characters; absent: a new random secret") }),
    responses: {
      200: { description: "The secret", schema: z.object({ org_id: z.string(), end_user_secret: z.string() }) },
      400: { description: "`invalid_message`: a secret shorter than 32 characters", schema: secretError },
      401: { description: "`unauthorized`", schema: secretError },
      403: {
        description: "`forbidden`: a console agent (only an admin may), or a cross-site request with the console's cookie",
        schema: secretError,
      },
    },
  },
];
