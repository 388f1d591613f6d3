import { signEndUserToken } from "../../src/auth/endusers";
import { botMessage, connect, connectTo, type Frame, isType } from "../adapters/ws/client";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio-server";
import { addOperator, signIn } from "../support/console";
import { startTestHub, type TestHub } from "../support/hub";
import { createTestOrg, type TestOrg } from "../support/orgs";
import { waitFor } from "../support/processes";
import { routesOf } from "../support/routes";
import { postWebhook, twilioEnv, whatsapp } from "../support/twilio";

// Org isolation on every surface: org A owns an assistant, a folder, conversations begun on each API, the
// widget and WhatsApp; org B, with its own credentials, tries every route with A's ids. Each attempt gets
// its API's not-found answer (or forbidden, where the API's document says so) and never a byte of A's data,
// and A's rows are exactly as they were afterwards. The tables below are the list of routes: a route the
// app serves and no row names fails the coverage test.

const SECRET = `a-secret-${Math.random().toString(36).slice(2)}`;
const A_BOT = "a-secret-bot";
const A_NUMBER = "+14155550100";
const A_PHONE = "+351911111111";
const A_ASK_KEY = "a-ask-conversation";
const hour = () => Math.floor(Date.now() / 1000) + 3600;

/** What org A owns, by id: the values B's requests carry. */
interface OrgA {
  org: TestOrg;
  assistant: string;
  folder: string;
  document: string;
  /** General Bots conversation and its chat session. */
  gb: { conversation: string; session: string };
  /** Conversation Service conversation and its chat session. */
  cs: { conversation: string; session: string };
  /** The ask API's conversation, its message's channel id, and the turn (whose queue job has the turn's id). */
  ask: { externalId: string; turn: string };
  /** The widget: a signed-in user's session, an anonymous one, a message of the user's and the reply it rated. */
  ws: { userSession: string; userConversation: string; anonSession: string; userMessage: string; ratedReply: string };
  /** The WhatsApp conversation's channel id, and the SID Twilio gave the reply sent to the user. */
  whatsapp: { conversationKey: string; sentSid: string };
}

interface Ctx {
  hub: TestHub;
  a: OrgA & { operator: { id: string; email: string } };
  /** B, with an admin of its own signed in to the console (`cookie`). */
  b: TestOrg & { folder: string; conversation: string; cookie: string };
}

type Request = { method?: string; path: string; body?: unknown; headers?: Record<string, string>; form?: Record<string, string> };

interface Attempt {
  /** The route as the app declares it (`METHOD /path/:param`); `* /prefix/*` speaks for every route under a prefix. */
  route: string;
  what: string;
  request(c: Ctx): Request;
  status: number;
  /** What the body must contain, in the API's own dialect. */
  body?: unknown | ((c: Ctx) => unknown);
}

// The answers, in each API's dialect.
const management404 = { status: 404, body: { error: "not_found", message: expect.any(String) } };
const management400 = (field: string) => ({
  status: 400,
  body: { error: "invalid_message", issues: [expect.objectContaining({ field })] },
});
// Seed 001's table: 403 forbidden "No access to conversation". It answers only ids that exist in another org
// (an unknown id gets 404), so it tells B that the id exists: known, and kept because the seed says 403.
const generalBots403 = { status: 403, body: { error: "forbidden", message: "No access to conversation" } };
const generalBots404 = { status: 404, body: { error: "not_found", message: expect.any(String) } };
const service404 = (what: string) => ({ status: 404, body: { detail: `${what} not found` } });
const service403 = { status: 403, body: { detail: expect.stringContaining("org_id") } };
const dashboard403 = { status: 403, body: { error: "forbidden" } };
const signature403 = { status: 403, body: "Invalid or missing X-Twilio-Signature" };

/** B's console request: its operator's cookie (or `cookie`), the hub's Origin, and no API key. */
const inConsole = (c: Ctx, cookie = c.b.cookie) => ({ authorization: "", cookie, origin: c.hub.url });

const ask = (fields: Record<string, unknown>) => ({
  path: "/api/ai-hub/assistant/ask",
  body: { message: { id: `b-${Math.random()}`, role: "user", content: "hello" }, assistantId: "default", ...fields },
});
const service = (orgId: string, path: string, query = "") => `/api/conversation/${path}?org_id=${orgId}${query}`;

const generalBots = (prefix: string): Attempt[] => [
  {
    route: `POST ${prefix}/start`,
    what: "starts a conversation with A's bot",
    request: (c) => ({ path: `${prefix}/start`, body: { bot_id: c.a.assistant, initial_message: "hi" } }),
    ...generalBots404,
  },
  {
    route: `POST ${prefix}/:id/messages`,
    what: "writes into A's conversation",
    request: (c) => ({ path: `${prefix}/${c.a.gb.conversation}/messages`, body: { content: "intrusion" } }),
    ...generalBots403,
  },
  {
    route: `POST ${prefix}/:id/messages`,
    what: "writes into A's WhatsApp conversation by its channel id",
    request: (c) => ({ path: `${prefix}/${encodeURIComponent(c.a.whatsapp.conversationKey)}/messages`, body: { content: "intrusion" } }),
    ...generalBots404,
  },
  {
    route: `GET ${prefix}/:id/history`,
    what: "reads A's conversation",
    request: (c) => ({ path: `${prefix}/${c.a.gb.conversation}/history` }),
    ...generalBots403,
  },
  {
    route: `GET ${prefix}/:id/history`,
    what: "reads A's widget conversation",
    request: (c) => ({ path: `${prefix}/${c.a.ws.userConversation}/history` }),
    ...generalBots403,
  },
  {
    route: `GET ${prefix}/:id/history`,
    what: "reads A's WhatsApp conversation by its channel id",
    request: (c) => ({ path: `${prefix}/${encodeURIComponent(c.a.whatsapp.conversationKey)}/history` }),
    ...generalBots404,
  },
  {
    route: `GET ${prefix}`,
    what: "lists the conversations of A's bot",
    request: (c) => ({ path: `${prefix}?bot_id=${c.a.assistant}` }),
    status: 200,
    body: { conversations: [], total: 0 },
  },
  {
    route: `PATCH ${prefix}/:id`,
    what: "archives A's conversation",
    request: (c) => ({ method: "PATCH", path: `${prefix}/${c.a.gb.conversation}`, body: { status: "archived" } }),
    ...generalBots403,
  },
];

const HTTP: Attempt[] = [
  // Management API
  { route: "GET /api/assistants", what: "lists assistants", request: () => ({ path: "/api/assistants" }), status: 200 },
  {
    route: "POST /api/assistants",
    what: "creates an assistant over A's folder",
    request: (c) => ({ path: "/api/assistants", body: { name: "b-bot", folderIds: [c.a.folder] } }),
    ...management400("folderIds"),
  },
  {
    route: "GET /api/assistants/:id",
    what: "reads A's assistant by id",
    request: (c) => ({ path: `/api/assistants/${c.a.assistant}` }),
    ...management404,
  },
  {
    route: "GET /api/assistants/:id",
    what: "reads A's assistant by name",
    request: () => ({ path: `/api/assistants/${A_BOT}` }),
    ...management404,
  },
  {
    route: "PATCH /api/assistants/:id",
    what: "rewrites A's assistant",
    request: (c) => ({ method: "PATCH", path: `/api/assistants/${c.a.assistant}`, body: { instructions: "intrusion" } }),
    ...management404,
  },
  {
    route: "PATCH /api/assistants/:id",
    what: "points B's own assistant at A's folder",
    request: (c) => ({ method: "PATCH", path: "/api/assistants/default", body: { folderIds: [c.a.folder] } }),
    ...management400("folderIds"),
  },
  {
    route: "PUT /api/assistants/:id",
    what: "replaces A's assistant",
    request: (c) => ({ method: "PUT", path: `/api/assistants/${c.a.assistant}`, body: { deployed: false } }),
    ...management404,
  },
  { route: "GET /api/folders", what: "lists folders", request: () => ({ path: "/api/folders" }), status: 200 },
  {
    route: "POST /api/folders",
    what: "creates a folder",
    request: () => ({ path: "/api/folders", body: { name: "b-folder" } }),
    status: 201,
  },
  { route: "GET /api/folders/:id", what: "reads A's folder", request: (c) => ({ path: `/api/folders/${c.a.folder}` }), ...management404 },
  {
    route: "PATCH /api/folders/:id",
    what: "marks A's folder public",
    request: (c) => ({ method: "PATCH", path: `/api/folders/${c.a.folder}`, body: { public: true } }),
    ...management404,
  },
  {
    route: "DELETE /api/folders/:id",
    what: "deletes A's folder",
    request: (c) => ({ method: "DELETE", path: `/api/folders/${c.a.folder}` }),
    ...management404,
  },
  {
    route: "POST /api/folders/:id/documents",
    what: "adds a document to A's folder",
    request: (c) => ({ path: `/api/folders/${c.a.folder}/documents`, body: { title: "intrusion", content: "intrusion" } }),
    ...management404,
  },
  {
    route: "POST /api/folders/:id/documents",
    what: "adds a web page to A's folder",
    request: (c) => ({ path: `/api/folders/${c.a.folder}/documents`, body: { url: "https://example.com/" } }),
    ...management404,
  },
  {
    route: "GET /api/folders/:id/documents/:documentId",
    what: "reads A's document",
    request: (c) => ({ path: `/api/folders/${c.a.folder}/documents/${c.a.document}` }),
    ...management404,
  },
  {
    route: "GET /api/folders/:id/documents/:documentId",
    what: "reads A's document through a folder of B's",
    request: (c) => ({ path: `/api/folders/${c.b.folder}/documents/${c.a.document}` }),
    ...management404,
  },
  {
    route: "POST /api/folders/:id/documents/:documentId/refresh",
    what: "refreshes A's document",
    request: (c) => ({ method: "POST", path: `/api/folders/${c.a.folder}/documents/${c.a.document}/refresh` }),
    ...management404,
  },
  {
    route: "DELETE /api/folders/:id/documents/:documentId",
    what: "deletes A's document from A's folder",
    request: (c) => ({ method: "DELETE", path: `/api/folders/${c.a.folder}/documents/${c.a.document}` }),
    ...management404,
  },
  {
    route: "DELETE /api/folders/:id/documents/:documentId",
    what: "deletes A's document through a folder of B's",
    request: (c) => ({ method: "DELETE", path: `/api/folders/${c.b.folder}/documents/${c.a.document}` }),
    ...management404,
  },
  {
    route: "POST /api/knowledge/search",
    what: "searches A's folder",
    request: (c) => ({ path: "/api/knowledge/search", body: { query: "vault code", folderIds: [c.a.folder] } }),
    ...management400("folderIds"),
  },
  {
    route: "POST /api/knowledge/search",
    what: "searches every folder for A's passage",
    request: () => ({ path: "/api/knowledge/search", body: { query: "What is the vault code?" } }),
    status: 200,
    body: { passages: [] },
  },
  {
    route: "POST /api/knowledge/search",
    what: "searches A's folder from the console",
    request: (c) => ({ path: "/api/knowledge/search", body: { query: "vault code", folderIds: [c.a.folder] }, headers: inConsole(c) }),
    ...management400("folderIds"),
  },
  {
    route: "GET /api/me",
    what: "asks who it is",
    request: () => ({ path: "/api/me" }),
    status: 200,
    body: (c: Ctx) => ({ org_id: c.b.orgId }),
  },

  // The operator inbox
  { route: "GET /api/inbox", what: "lists the inbox", request: () => ({ path: "/api/inbox?state=all&limit=100" }), status: 200 },
  {
    route: "POST /api/inbox/:conversationId/handoff",
    what: "hands A's ask conversation to a person, by its channel id",
    request: (c) => ({ path: `/api/inbox/${c.a.ask.externalId}/handoff`, body: { reason: "intrusion" } }),
    ...management404,
  },
  {
    route: "POST /api/inbox/:conversationId/handoff",
    what: "hands A's conversation to a person, by its id",
    request: (c) => ({ path: `/api/inbox/${c.a.gb.conversation}/handoff`, body: {} }),
    ...management404,
  },
  {
    route: "POST /api/inbox/:conversationId/takeover",
    what: "takes A's WhatsApp conversation",
    request: (c) => ({ path: `/api/inbox/${encodeURIComponent(c.a.whatsapp.conversationKey)}/takeover`, body: { operator: "b" } }),
    ...management404,
  },
  {
    route: "POST /api/inbox/:conversationId/release",
    what: "releases A's conversation",
    request: (c) => ({ path: `/api/inbox/${c.a.cs.conversation}/release`, body: {} }),
    ...management404,
  },
  // The operator API (issue #14): an operator of B writes into A's conversations, by id and by channel id.
  {
    route: "POST /api/inbox/:conversationId/messages",
    what: "writes into A's General Bots conversation",
    request: (c) => ({ path: `/api/inbox/${c.a.gb.conversation}/messages`, body: { content: "intrusion" } }),
    ...management404,
  },
  {
    route: "POST /api/inbox/:conversationId/messages",
    what: "writes to A's WhatsApp user by the conversation's channel id",
    request: (c) => ({ path: `/api/inbox/${c.a.whatsapp.conversationKey}/messages`, body: { content: "intrusion" } }),
    ...management404,
  },
  {
    route: "POST /api/inbox/:conversationId/messages",
    what: "writes into A's ask conversation by its id",
    request: (c) => ({ path: `/api/inbox/${c.a.ask.externalId}/messages`, body: { content: "intrusion" } }),
    ...management404,
  },

  // AI Hub ask API
  {
    route: "POST /api/ai-hub/assistant/ask",
    what: "asks A's assistant by id",
    request: (c) => ask({ assistantId: c.a.assistant }),
    status: 404,
    body: { success: false, error: "Assistant not found or not deployed" },
  },
  {
    route: "POST /api/ai-hub/assistant/ask",
    what: "asks A's assistant by name",
    request: () => ask({ assistantId: A_BOT }),
    status: 404,
    body: { success: false, error: "Assistant not found or not deployed" },
  },
  {
    route: "POST /api/ai-hub/assistant/ask",
    what: "searches A's folder",
    request: (c) => ask({ foldersId: [c.a.folder] }),
    status: 400,
    body: {
      success: false,
      error: "Message parse problem from ask assistant",
      issues: [expect.objectContaining({ field: "foldersId.0" })],
    },
  },
  {
    // A conversation id names a conversation of the caller's org: B's ask opens a conversation of B's own.
    route: "POST /api/ai-hub/assistant/ask",
    what: "continues A's conversation, resending A's message id",
    request: (c) => ({
      path: "/api/ai-hub/assistant/ask",
      body: { message: { id: c.a.ask.externalId, role: "user", content: "what did I say?" }, id: A_ASK_KEY, assistantId: "default" },
    }),
    status: 200,
    body: { success: true, conversation_id: A_ASK_KEY },
  },

  // General Bots, under both prefixes
  ...generalBots("/api/conversations"),
  ...generalBots("/conversations"),

  // botuj
  {
    route: "GET /v1/api/conversations",
    what: "lists conversations",
    request: () => ({ path: "/v1/api/conversations?per_page=100" }),
    status: 200,
  },

  // Conversation Service
  {
    route: "POST /api/conversation/create",
    what: "creates a conversation in A's org",
    request: (c) => ({ path: service(c.a.org.orgId, "create"), body: { title: "intrusion" } }),
    ...service403,
  },
  {
    route: "POST /api/conversation/create_session",
    what: "opens a session on A's conversation",
    request: (c) => ({ path: service(c.b.orgId, "create_session"), body: { conversation_id: c.a.cs.conversation, model_id: "default" } }),
    ...service404("Conversation"),
  },
  {
    route: "POST /api/conversation/create_session",
    what: "opens a session of B's with A's assistant as the model",
    request: (c) => ({ path: service(c.b.orgId, "create_session"), body: { conversation_id: c.b.conversation, model_id: c.a.assistant } }),
    ...service404("Model"),
  },
  {
    route: "POST /api/conversation/stream_chat",
    what: "chats in A's session",
    request: (c) => ({ path: service(c.b.orgId, "stream_chat"), body: { chat_session_id: c.a.cs.session, message: "intrusion" } }),
    ...service404("Chat session"),
  },
  {
    route: "POST /api/conversation/stream_chat",
    what: "chats in the session of A's General Bots conversation",
    request: (c) => ({ path: service(c.b.orgId, "stream_chat"), body: { chat_session_id: c.a.gb.session, message: "intrusion" } }),
    ...service404("Chat session"),
  },
  {
    route: "POST /api/conversation/stream_chat",
    what: "chats in A's widget session",
    request: (c) => ({ path: service(c.b.orgId, "stream_chat"), body: { chat_session_id: c.a.ws.userSession, message: "intrusion" } }),
    ...service404("Chat session"),
  },
  {
    route: "GET /api/conversation/list",
    what: "lists conversations",
    request: (c) => ({ path: service(c.b.orgId, "list", "&limit=100") }),
    status: 200,
  },
  { route: "GET /api/conversation/list", what: "lists A's org", request: (c) => ({ path: service(c.a.org.orgId, "list") }), ...service403 },
  {
    route: "GET /api/conversation/get_with_sessions",
    what: "reads A's conversation",
    request: (c) => ({ path: service(c.b.orgId, "get_with_sessions", `&conversation_id=${c.a.cs.conversation}`) }),
    ...service404("Conversation"),
  },
  {
    route: "GET /api/conversation/messages",
    what: "reads A's messages",
    request: (c) => ({ path: service(c.b.orgId, "messages", `&conversation_id=${c.a.gb.conversation}`) }),
    ...service404("Conversation"),
  },
  {
    route: "GET /api/conversation/messages",
    what: "reads A's messages naming A's org",
    request: (c) => ({ path: service(c.a.org.orgId, "messages", `&conversation_id=${c.a.gb.conversation}`) }),
    ...service403,
  },

  // The widget's secret: B sets its own
  {
    route: "POST /api/ws/end-user-secret",
    what: "sets the end-user secret",
    request: () => ({ path: "/api/ws/end-user-secret", body: {} }),
    status: 200,
    body: (c: Ctx) => ({ org_id: c.b.orgId }),
  },

  // Twilio: numbers are assigned by the operator; another org is refused alike whether a number is A's or free
  {
    route: "GET /api/twilio/numbers",
    what: "lists numbers",
    request: () => ({ path: "/api/twilio/numbers" }),
    status: 200,
    body: { numbers: [] },
  },
  {
    route: "PUT /api/twilio/numbers/:number",
    what: "binds A's number",
    request: () => ({ method: "PUT", path: `/api/twilio/numbers/${A_NUMBER}`, body: { assistant: "default" } }),
    status: 403,
    body: { error: "forbidden" },
  },
  {
    route: "DELETE /api/twilio/numbers/:number",
    what: "unbinds A's number",
    request: () => ({ method: "DELETE", path: `/api/twilio/numbers/${A_NUMBER}` }),
    ...management404,
  },
  {
    // The org's own: no org id is taken, so B can only ever set B's (the key never comes back).
    route: "PUT /api/twilio/transcription",
    what: "sets its transcription service",
    request: () => ({ method: "PUT", path: "/api/twilio/transcription", body: { base_url: "https://b.example.com/v1", api_key: "b-key" } }),
    status: 200,
    body: { base_url: "https://b.example.com/v1", model: null, api_key_set: true },
  },
  {
    route: "POST /api/twilio/messages",
    what: "writes to A's WhatsApp user from A's number",
    request: () => ({ path: "/api/twilio/messages", body: { from: `whatsapp:${A_NUMBER}`, to: `whatsapp:${A_PHONE}`, body: "intrusion" } }),
    ...management404,
  },
  {
    route: "POST /webhooks/twilio",
    what: "posts as A's WhatsApp user without Twilio's signature",
    request: () => ({ path: "/webhooks/twilio", form: whatsapp(A_PHONE, A_NUMBER, "intrusion") }),
    ...signature403,
  },
  {
    route: "POST /webhooks/twilio/status",
    what: "fails A's sent message without Twilio's signature",
    request: (c) => ({ path: "/webhooks/twilio/status", form: { MessageSid: c.a.whatsapp.sentSid, MessageStatus: "failed" } }),
    ...signature403,
  },

  // The console: B's admin, signed in, with its cookie and the hub's own Origin (no API key)
  {
    route: "POST /api/console/login",
    what: "signs in as A's operator with a guessed password",
    request: (c) => ({ path: "/api/console/login", body: { email: c.a.operator.email, password: "guessed-password" } }),
    status: 401,
    body: { error: "unauthorized", message: "Wrong email or password" },
  },
  {
    route: "POST /api/console/logout",
    what: "ends a session with A's operator's id for a cookie",
    request: (c) => ({ method: "POST", path: "/api/console/logout", headers: inConsole(c, `hub_console=${c.a.operator.id}`) }),
    status: 401,
  },
  {
    route: "GET /api/console/me",
    what: "reads who its operator is",
    request: (c) => ({ path: "/api/console/me", headers: inConsole(c) }),
    status: 200,
    body: (c: Ctx) => ({ operator: { orgId: c.b.orgId } }),
  },
  {
    route: "GET /api/console/operators",
    what: "lists operators",
    request: (c) => ({ path: "/api/console/operators", headers: inConsole(c) }),
    status: 200,
  },
  {
    route: "POST /api/console/operators",
    what: "adds an operator to A's org",
    request: (c) => ({
      path: "/api/console/operators",
      body: { email: "b-into-a@example.test", password: "a long password", role: "admin", orgId: c.a.org.orgId },
      headers: inConsole(c),
    }),
    status: 400,
    body: { error: "invalid_message" },
  },
  {
    route: "DELETE /api/console/operators/:operatorId",
    what: "removes A's operator",
    request: (c) => ({ method: "DELETE", path: `/api/console/operators/${c.a.operator.id}`, headers: inConsole(c) }),
    ...management404,
  },
  {
    route: "GET /api/console/conversations/:conversationId",
    what: "reads A's WhatsApp conversation by its channel id",
    request: (c) => ({ path: `/api/console/conversations/${encodeURIComponent(c.a.whatsapp.conversationKey)}`, headers: inConsole(c) }),
    ...management404,
  },
  {
    route: "GET /api/console/conversations/:conversationId",
    what: "reads A's widget conversation with its API key",
    request: (c) => ({ path: `/api/console/conversations/${c.a.ws.userConversation}` }),
    ...management404,
  },
  {
    route: "GET /api/folders/:id",
    what: "reads A's folder from the console",
    request: (c) => ({ path: `/api/folders/${c.a.folder}`, headers: inConsole(c) }),
    ...management404,
  },
  {
    route: "PATCH /api/assistants/:id",
    what: "rewrites A's assistant from the console",
    request: (c) => ({
      method: "PATCH",
      path: `/api/assistants/${c.a.assistant}`,
      body: { instructions: "intrusion" },
      headers: inConsole(c),
    }),
    ...management404,
  },
  {
    route: "DELETE /api/folders/:id/documents/:documentId",
    what: "deletes A's document from the console",
    request: (c) => ({ method: "DELETE", path: `/api/folders/${c.a.folder}/documents/${c.a.document}`, headers: inConsole(c) }),
    ...management404,
  },
  {
    route: "PUT /api/twilio/numbers/:number",
    what: "binds A's number from the console",
    request: (c) => ({ method: "PUT", path: `/api/twilio/numbers/${A_NUMBER}`, body: { assistant: "default" }, headers: inConsole(c) }),
    status: 403,
    body: { error: "forbidden" },
  },
  {
    route: "POST /api/ws/end-user-secret",
    what: "rotates the end-user secret from the console: its own org's",
    request: (c) => ({ path: "/api/ws/end-user-secret", body: {}, headers: inConsole(c) }),
    status: 200,
    body: (c: Ctx) => ({ org_id: c.b.orgId }),
  },
  {
    route: "POST /api/inbox/:conversationId/takeover",
    what: "takes A's WhatsApp conversation over from the console",
    request: (c) => ({ path: `/api/inbox/${encodeURIComponent(c.a.whatsapp.conversationKey)}/takeover`, body: {}, headers: inConsole(c) }),
    ...management404,
  },
  {
    route: "GET /api/console/insights",
    what: "reads insights, where A's thumbs down must not count",
    request: (c) => ({ path: "/api/console/insights", headers: inConsole(c) }),
    status: 200,
    body: { feedback: { up: 0, down: 0 } },
  },
  {
    route: "GET /api/console/insights",
    what: "reads insights with its API key",
    request: () => ({ path: "/api/console/insights" }),
    status: 200,
    body: { feedback: { up: 0, down: 0 } },
  },
  {
    route: "GET /api/console/feedback.csv",
    what: "exports feedback, A's rated reply among it if it leaked",
    request: (c) => ({ path: "/api/console/feedback.csv", headers: inConsole(c) }),
    status: 200,
    // Its header alone (fetch's decoding drops the byte-order mark).
    body: "time,channel,rating,comment,question,reply,conversation\r\n",
  },
  {
    route: "GET /console/vendor/:file",
    what: "loads the console's Preact",
    request: () => ({ path: "/console/vendor/preact.mjs" }),
    status: 200,
  },

  // Public: health, the API's description. Metrics only for the metrics token (set below), which no org's key is
  { route: "GET /healthz", what: "checks health", request: () => ({ path: "/healthz" }), status: 200 },
  { route: "GET /readyz", what: "checks readiness", request: () => ({ path: "/readyz" }), status: 200 },
  { route: "GET /metrics", what: "scrapes metrics with its API key", request: () => ({ path: "/metrics" }), status: 401 },
  { route: "GET /openapi.json", what: "reads the API description", request: () => ({ path: "/openapi.json" }), status: 200 },
  { route: "GET /docs", what: "reads the API reference", request: () => ({ path: "/docs" }), status: 200 },
  {
    route: "GET /widget/vendor/:file",
    what: "loads the widget's Markdown renderer",
    request: () => ({ path: "/widget/vendor/marked.esm.js" }),
    status: 200,
  },

  // The queue dashboard: every route under it is behind one guard, which only the default org's keys pass
  { route: "* /admin/queues/*", what: "opens the queue dashboard", request: () => ({ path: "/admin/queues" }), ...dashboard403 },
  {
    route: "* /admin/queues/*",
    what: "reads the job of A's turn",
    request: (c) => ({ path: `/admin/queues/api/queues/ask/${c.a.ask.turn}` }),
    ...dashboard403,
  },
  {
    route: "* /admin/queues/*",
    what: "retries the job of A's turn",
    request: (c) => ({ method: "PUT", path: `/admin/queues/api/queues/ask/${c.a.ask.turn}/retry` }),
    ...dashboard403,
  },
  {
    route: "* /admin/queues/*",
    what: "opens the dashboard with its key as the Basic auth password",
    request: (c) => ({
      path: "/admin/queues/api/queues",
      headers: { authorization: `Basic ${Buffer.from(`x:${c.b.key}`).toString("base64")}` },
    }),
    ...dashboard403,
  },
];

interface SocketAttempt {
  what: string;
  open(c: Ctx): Promise<{ query: Record<string, string>; headers?: Record<string, string> }>;
  /** A frame B sends once the socket is open, and the error code that must answer it. */
  send?: { frame(c: Ctx): object; error: string };
  /** The session is refused with this error code and close code; otherwise B gets a session of its own. */
  refused?: { code: string; close: number };
}

const withKey = (c: Ctx, query: Record<string, string>) => ({ query, headers: { authorization: `Bearer ${c.b.key}` } });
const bToken = async (c: Ctx, claims: Record<string, unknown>) => {
  const secret = (await c.b.api("/api/ws/end-user-secret", { body: {} })).body.end_user_secret;
  return await signEndUserToken(secret, { sub: "alice", exp: hour(), ...claims });
};

const SOCKETS: SocketAttempt[] = [
  {
    what: "B's key asks for A's assistant by id",
    open: async (c) => withKey(c, { assistant_id: c.a.assistant }),
    refused: { code: "not_found", close: 4404 },
  },
  {
    what: "B's key asks for A's assistant by name",
    open: async (c) => withKey(c, { assistant_id: A_BOT }),
    refused: { code: "not_found", close: 4404 },
  },
  {
    what: "B's key resumes A's user's session",
    open: async (c) => withKey(c, { session_id: c.a.ws.userSession }),
    refused: { code: "not_found", close: 4404 },
  },
  {
    what: "B's key resumes A's anonymous session",
    open: async (c) => withKey(c, { session_id: c.a.ws.anonSession }),
    refused: { code: "not_found", close: 4404 },
  },
  {
    what: "an anonymous visitor of B resumes A's anonymous session",
    open: async (c) => ({ query: { org: c.b.orgId, session_id: c.a.ws.anonSession } }),
  },
  {
    what: "an anonymous visitor of B resumes A's user's session",
    open: async (c) => ({ query: { org: c.b.orgId, session_id: c.a.ws.userSession } }),
  },
  {
    what: "B's end-user token for a user id A also has",
    open: async (c) => ({ query: { token: await bToken(c, { org_id: c.b.orgId }) } }),
  },
  {
    what: "a token claiming A's org, signed with B's secret",
    open: async (c) => ({ query: { token: await bToken(c, { org_id: c.a.org.orgId }) } }),
    refused: { code: "unauthorized", close: 4401 },
  },
  { what: "B's key resumes after A's message", open: async (c) => withKey(c, { last_message_id: c.a.ws.userMessage }) },
  {
    what: "B's socket sends a frame for A's assistant",
    open: async (c) => withKey(c, {}),
    send: { frame: (c) => ({ type: "message", content: "intrusion", assistant_id: c.a.assistant }), error: "not_found" },
  },
  {
    what: "B's socket sends a frame naming A's session",
    open: async (c) => withKey(c, {}),
    send: { frame: (c) => ({ type: "message", content: "intrusion", session_id: c.a.ws.userSession }), error: "forbidden" },
  },
  {
    what: "B's socket rates A's reply",
    open: async (c) => withKey(c, {}),
    send: { frame: (c) => ({ type: "feedback", message_id: c.a.ws.ratedReply, rating: "up" }), error: "not_found" },
  },
];

describe("org isolation on every surface", () => {
  let twilio: FakeTwilio;
  let app: unknown;
  const ctx = {} as Ctx;
  let before: OrgSnapshot;
  /** A's ids and its secret text: none may reach B unless B's own request carried it. */
  let secrets: string[];

  beforeAll(async () => {
    twilio = await startFakeTwilio();
    ctx.hub = await startTestHub("postgres", {
      ...twilioEnv(twilio),
      RATE_LIMIT_PER_MINUTE: "100000",
      METRICS_TOKEN: "metrics-token-0123456789",
    });
    app = ctx.hub.app;

    const [orgA, orgB] = [await createTestOrg(ctx.hub, "A"), await createTestOrg(ctx.hub, "B")];
    const aOperator = await addOperator(ctx.hub, orgA.orgId, "admin");
    ctx.a = { ...(await seedOrgA(ctx.hub, orgA, twilio)), operator: aOperator };
    const conversation = (await orgB.api(service(orgB.orgId, "create"), { body: { title: "B's own" } })).body.id;
    const folder = (await orgB.api("/api/folders", { body: { name: "B's own" } })).body.id;
    const { cookie } = await signIn(ctx.hub, (await addOperator(ctx.hub, orgB.orgId, "admin")).email);
    ctx.b = { ...orgB, folder, conversation, cookie };
    before = await settled(ctx.hub, orgA.orgId);
    secrets = [
      SECRET,
      aOperator.email,
      ...new Set([...(JSON.stringify(before).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? []), aOperator.id]),
    ];
  });
  afterAll(async () => {
    await ctx.hub?.stop();
    await twilio?.close();
  });

  /** Fails when `received` holds any of A's secrets that `sent` did not. */
  const expectNothingOfA = (received: unknown, sent: unknown) => {
    const [text, request] = [typeof received === "string" ? received : JSON.stringify(received), JSON.stringify(sent)];
    expect(secrets.filter((s) => text.includes(s) && !request.includes(s))).toEqual([]);
  };

  it.each(HTTP.map((row) => [`${row.route}: B ${row.what}`, row] as const))("%s", async (_name, row) => {
    const req = row.request(ctx);
    const res = req.form
      ? await formPost(ctx.hub.url + req.path, req.form, { authorization: `Bearer ${ctx.b.key}` })
      : await ctx.b.api(req.path, { method: req.method, body: req.body, headers: req.headers });
    expect(res.status).toBe(row.status);
    const body = typeof row.body === "function" ? row.body(ctx) : row.body;
    if (typeof body === "string") expect(res.body).toBe(body);
    else if (body !== undefined) expect(res.body).toMatchObject(body as object);
    expectNothingOfA(res.body, req);
  });

  it.each(SOCKETS.map((row) => [row.what, row] as const))("/ws: %s", async (_name, row) => {
    const { query, headers } = await row.open(ctx);
    const socket = await connect(ctx.hub.url, query, { headers });
    const first = await socket.next();
    if (row.refused) {
      expect(first).toMatchObject({ type: "error", code: row.refused.code });
      expect((await socket.closed).code).toBe(row.refused.close);
    } else {
      expect(first).toMatchObject({ type: "status", status: "connected", resumed: false });
      expect(secrets).not.toContain(first.session_id);
      expect(secrets).not.toContain(first.conversation_id);
      if (row.send) {
        const frame = row.send.frame(ctx);
        socket.send(frame);
        expect(await socket.next(isType("error"))).toMatchObject({ code: row.send.error });
        expectNothingOfA(socket.frames, [query, frame]);
      }
      // Whatever a catch-up would have sent has arrived by now.
      await new Promise((r) => setTimeout(r, 100));
      await socket.close();
    }
    expect(socket.frames.filter((f: Frame) => f.type === "message")).toEqual([]);
    expectNothingOfA(socket.frames, query);
  });

  it("/ws/operators: B's operator sees nothing of A's conversations and cannot type in them", async () => {
    const socket = await connectTo(ctx.hub.url, "/ws/operators", {}, { headers: { authorization: `Bearer ${ctx.b.key}` } });
    expect(await socket.next()).toMatchObject({ type: "status", status: "connected", orgId: ctx.b.orgId });
    const refs = [ctx.a.gb.conversation, ctx.a.whatsapp.conversationKey, ctx.a.ws.userConversation];
    for (const ref of refs) {
      socket.send({ type: "typing", conversationId: ref });
      expect(await socket.next(isType("error"))).toMatchObject({ error: "not_found" });
    }
    await socket.close();
    expect(socket.frames.filter((f: Frame) => f.type !== "error" && f.type !== "status")).toEqual([]);
    expectNothingOfA(socket.frames, refs);
  });

  it("/ws/operators: B's operator, signed in to the console, sees nothing of A's conversations", async () => {
    const headers = { cookie: ctx.b.cookie, origin: ctx.hub.url };
    const socket = await connectTo(ctx.hub.url, "/ws/operators", {}, { headers }, ["hub.operators"]);
    expect(await socket.next()).toMatchObject({ type: "status", status: "connected", orgId: ctx.b.orgId });
    socket.send({ type: "typing", conversationId: ctx.a.whatsapp.conversationKey });
    expect(await socket.next(isType("error"))).toMatchObject({ error: "not_found" });
    await socket.close();
    expectNothingOfA(socket.frames, ctx.a.whatsapp.conversationKey);
  });

  it("leaves every row of org A as it was", async () => {
    expect(await snapshot(ctx.hub, ctx.a.org.orgId)).toEqual(before);
  });

  it("has a row for every route the app serves, and no row for a route it does not", () => {
    const routes = routesOf(app);
    const covers = (row: string, route: string) => {
      if (!row.endsWith("/*")) return row === route;
      const prefix = row.slice(2, -2);
      const path = route.slice(route.indexOf(" ") + 1);
      return path === prefix || path.startsWith(`${prefix}/`);
    };
    const rows = [...new Set(HTTP.map((r) => r.route))];
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((route) => !rows.some((row) => covers(row, route)))).toEqual([]);
    expect(rows.filter((row) => !routes.some((route) => covers(row, route)))).toEqual([]);
  });
});

/** Org A's resources, each made through the API that owns it, with every turn answered. */
async function seedOrgA(hub: TestHub, org: TestOrg, twilio: FakeTwilio): Promise<OrgA> {
  const folder = (await org.api("/api/folders", { body: { name: `${SECRET} folder` } })).body.id;
  const doc = await org.api(`/api/folders/${folder}/documents`, {
    body: { title: `${SECRET} doc`, content: `# Vault\n\nThe vault code is ${SECRET}. It opens the vault.` },
  });
  const assistant = (
    await org.api("/api/assistants", { body: { name: A_BOT, instructions: SECRET, description: SECRET, folderIds: [folder] } })
  ).body.id;

  const gb = (await org.api("/api/conversations/start", { body: { bot_id: A_BOT, initial_message: `What is the vault code? ${SECRET}` } }))
    .body;
  await waitFor(
    async () => (await org.api(`/api/conversations/${gb.conversation_id}/history`)).body.messages.length >= 2,
    10_000,
    "A's start",
  );

  const cs = (await org.api(service(org.orgId, "create"), { body: { title: SECRET } })).body.id;
  const csSession = (await org.api(service(org.orgId, "create_session"), { body: { conversation_id: cs, model_id: assistant } })).body.id;
  const streamed = await org.api(service(org.orgId, "stream_chat"), {
    body: { chat_session_id: csSession, message: `vault code ${SECRET}` },
  });
  expect(streamed.body).toContain("event: end");

  const asked = await org.api("/api/ai-hub/assistant/ask", {
    body: {
      message: { id: "a-message-1", role: "user", content: `vault code? ${SECRET}` },
      id: A_ASK_KEY,
      assistantId: assistant,
      foldersId: [folder],
    },
  });
  expect(asked.status).toBe(200);
  const askTurn = await hub.runtime.db.prisma.message.findFirstOrThrow({
    where: { externalId: "a-message-1", conversation: { orgId: org.orgId } },
  });

  const secret = (await org.api("/api/ws/end-user-secret", { body: {} })).body.end_user_secret;
  const user = await connect(hub.url, {
    token: await signEndUserToken(secret, { sub: "alice", exp: hour(), org_id: org.orgId }),
    assistant_id: A_BOT,
  });
  const userStatus = await user.next(isType("status"));
  user.send({ type: "message", content: `vault code ${SECRET}` });
  const userMessage = await user.next((f) => f.type === "message" && f.sender === "user");
  const ratedReply = await user.next(botMessage);
  user.send({ type: "feedback", message_id: ratedReply.id, rating: "down", comment: `feedback ${SECRET}` });
  await user.next(isType("feedback"));
  await user.close();
  const anon = await connect(hub.url, { org: org.orgId });
  const anonStatus = await anon.next(isType("status"));
  anon.send({ type: "message", content: `anonymous ${SECRET}` });
  await anon.next(botMessage);
  await anon.close();

  // The operator (a key of the default org) assigns the number to A.
  const assign = { assistant: A_BOT, org_id: org.orgId };
  expect((await hub.api(`/api/twilio/numbers/${A_NUMBER}`, { method: "PUT", body: assign })).status).toBe(200);
  const incoming = whatsapp(A_PHONE, A_NUMBER, `vault code ${SECRET}`);
  expect((await postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", incoming)).status).toBe(200);
  const sent = await waitFor(() => twilio.sends.find((s) => s.to === `whatsapp:${A_PHONE}`), 10_000, "A's WhatsApp reply");

  return {
    org,
    assistant,
    folder,
    document: doc.body.id,
    gb: { conversation: gb.conversation_id, session: gb.session_id },
    cs: { conversation: cs, session: csSession },
    ask: { externalId: "a-message-1", turn: askTurn.id },
    ws: {
      userSession: userStatus.session_id,
      userConversation: userStatus.conversation_id,
      anonSession: anonStatus.session_id,
      userMessage: userMessage.id,
      ratedReply: ratedReply.id,
    },
    whatsapp: { conversationKey: `whatsapp_${A_PHONE}`, sentSid: sent.sid },
  };
}

type OrgSnapshot = Awaited<ReturnType<typeof snapshot>>;

/** Every row of the org, as JSON. */
async function snapshot(hub: TestHub, orgId: string) {
  const byId = { orderBy: { id: "asc" as const } };
  const org = await hub.runtime.db.prisma.org.findUniqueOrThrow({
    where: { id: orgId },
    include: {
      apiKeys: byId,
      assistants: byId,
      twilioNumbers: { orderBy: { number: "asc" } },
      folders: { ...byId, include: { documents: { ...byId, include: { passages: byId } } } },
      conversations: {
        ...byId,
        include: { sessions: byId, messages: { orderBy: { seq: "asc" }, include: { outboundParts: byId } } },
      },
    },
  });
  return JSON.parse(JSON.stringify(org, (_key, value) => (typeof value === "bigint" ? value.toString() : value)));
}

/** The org's snapshot once nothing changes it any more (its replies stored, its WhatsApp reply delivered). */
async function settled(hub: TestHub, orgId: string): Promise<OrgSnapshot> {
  let last = "";
  return waitFor(
    async () => {
      const now = await snapshot(hub, orgId);
      const same = JSON.stringify(now) === last;
      last = JSON.stringify(now);
      if (!same) await new Promise((r) => setTimeout(r, 200));
      return same && now;
    },
    10_000,
    "org A's rows to settle",
  );
}

async function formPost(url: string, form: Record<string, string>, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.text() };
}
