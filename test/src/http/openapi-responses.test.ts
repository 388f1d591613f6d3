import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { type FakeTwilio, startFakeTwilio } from "../../fakes/twilio-server";
import { addOperator, PASSWORD, signIn } from "../../support/console";
import { startTestHub, type TestHub } from "../../support/hub";
import { createTestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";
import { parseSse } from "../../support/sse";
import { signedWebhook, twilioEnv, whatsapp } from "../../support/twilio";

// Live answers against the document: each route's main success and a client error, every body checked
// against the schema /openapi.json gives for that operation and status. A status it does not list fails.

interface Call {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  /** A form body (Twilio's webhooks), signed. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** The API key to send; null: none. */
  key?: string | null;
}

describe("live responses match the OpenAPI document", () => {
  let hub: TestHub;
  let twilio: FakeTwilio;
  let doc: any;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  /** What differs from the document, as `METHOD /path status: problem`: asserted empty after each test. */
  let problems: string[] = [];

  beforeAll(async () => {
    twilio = await startFakeTwilio();
    hub = await startTestHub("pglite", { ...twilioEnv(twilio), METRICS_TOKEN: "metrics-token-0123456789" });
    doc = await (await fetch(`${hub.url}/openapi.json`)).json();
  });
  afterAll(async () => {
    await hub?.stop();
    await twilio?.close();
  });
  afterEach(() => {
    const found = problems;
    problems = [];
    expect(found).toEqual([]);
  });

  /** Calls `method path` (OpenAPI path, `{id}` filled from params) and checks the answer against the document. */
  async function call(method: string, path: string, c: Call = {}): Promise<{ status: number; body: any }> {
    const url = path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(c.params?.[name] ?? "")) + (c.query ? `?${c.query}` : "");
    const key = c.key === undefined ? hub.key : c.key;
    const signed = c.form ? signedWebhook(hub.env.TWILIO_AUTH_TOKEN, url, c.form) : null;
    const res = await fetch(hub.url + url, {
      method: method.toUpperCase(),
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(c.body !== undefined ? { "content-type": "application/json" } : {}),
        ...signed?.headers,
        ...c.headers,
      },
      body: signed?.body ?? (c.body === undefined ? undefined : JSON.stringify(c.body)),
    });
    const text = await res.text();
    const type = (res.headers.get("content-type") ?? "").split(";")[0];
    const body = type === "application/json" ? JSON.parse(text) : text;
    const where = `${method.toUpperCase()} ${path} ${res.status}`;
    const op = doc.paths[path]?.[method];
    const response = op?.responses[String(res.status)];
    if (!op) problems.push(`${where}: no such operation`);
    else if (!response) problems.push(`${where}: status not documented`);
    else if (!response.content) {
      if (text) problems.push(`${where}: a body where the document says none`);
    } else if (!response.content[type]) problems.push(`${where}: ${type || "no body"}, documented ${Object.keys(response.content)}`);
    else {
      const validate = ajv.compile(response.content[type].schema);
      // An event stream's schema is that of each event's data.
      const values = type === "text/event-stream" ? parseSse(text).map((e) => e.data) : [body];
      for (const value of values)
        if (!validate(value)) problems.push(`${where}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(value).slice(0, 300)}`);
    }
    return { status: res.status, body };
  }

  it("the probes, the metrics and the document itself", async () => {
    await call("get", "/healthz", { key: null });
    await call("get", "/readyz", { key: null });
    await call("get", "/metrics", { key: "metrics-token-0123456789" });
    await call("get", "/metrics");
    await call("get", "/openapi.json", { key: null });
    await call("get", "/docs", { key: null });
  });

  it("the management API: keys, assistants, folders and documents", async () => {
    await call("get", "/api/me");
    await call("get", "/api/me", { key: null });
    const created = await call("post", "/api/assistants", { body: { name: "contract-bot", instructions: "Be brief." } });
    expect(created.status).toBe(201);
    await call("post", "/api/assistants", { body: { name: "contract-bot" } });
    await call("post", "/api/assistants", { body: { name: "" } });
    await call("get", "/api/assistants");
    await call("get", "/api/assistants/{id}", { params: { id: created.body.id } });
    await call("get", "/api/assistants/{id}", { params: { id: "nobody" } });
    await call("patch", "/api/assistants/{id}", { params: { id: created.body.id }, body: { provider: "knowledge" } });
    await call("put", "/api/assistants/{id}", { params: { id: created.body.id }, body: { deployed: false } });
    await call("patch", "/api/assistants/{id}", { params: { id: created.body.id }, body: { nope: 1 } });

    const folder = await call("post", "/api/folders", { body: { name: "Contract", description: "Terms" } });
    expect(folder.status).toBe(201);
    const id = folder.body.id;
    await call("post", "/api/folders", { body: {} });
    await call("get", "/api/folders");
    await call("patch", "/api/folders/{id}", { params: { id }, body: { public: true } });
    const added = await call("post", "/api/folders/{id}/documents", {
      params: { id },
      body: { title: "Returns", content: "# Returns\n\nItems can be returned within 30 days." },
    });
    expect(added.status).toBe(201);
    await call("post", "/api/folders/{id}/documents", { params: { id }, body: { title: "" } });
    await call("get", "/api/folders/{id}", { params: { id } });
    const documentId = added.body.id;
    await call("get", "/api/folders/{id}/documents/{documentId}", { params: { id, documentId } });
    await call("post", "/api/folders/{id}/documents/{documentId}/refresh", { params: { id, documentId } });
    await call("delete", "/api/folders/{id}/documents/{documentId}", { params: { id, documentId } });
    await call("get", "/api/folders/{id}/documents/{documentId}", { params: { id, documentId } });
    await call("delete", "/api/folders/{id}", { params: { id } });
    await call("get", "/api/folders/{id}", { params: { id } });
  });

  it("the ask API", async () => {
    const asked = await call("post", "/api/ai-hub/assistant/ask", {
      body: { message: { id: "contract-1", content: "Hello" }, id: "contract-ask", assistantId: "default" },
    });
    expect(asked.status).toBe(200);
    const system = { message: { role: "system", content: "The user is on the pricing page." }, id: "contract-ask", assistantId: "default" };
    await call("post", "/api/ai-hub/assistant/ask", { body: system });
    await hub.api("/api/inbox/contract-ask/takeover", { body: { operator: "Ana" } });
    const held = await call("post", "/api/ai-hub/assistant/ask", {
      body: { message: { content: "A person?" }, id: "contract-ask", assistantId: "default" },
    });
    expect(held.status).toBe(202);
    await call("post", "/api/ai-hub/assistant/ask", { body: { message: {}, assistantId: "default" } });
    await call("post", "/api/ai-hub/assistant/ask", { body: { message: { content: "Hi" }, assistantId: "nobody" } });
    await call("post", "/api/ai-hub/assistant/ask", { body: { message: { content: "Hi" }, assistantId: "default" }, key: null });
  });

  it.each(["/api/conversations", "/conversations"])("the General Bots conversations under %s", async (prefix) => {
    const started = await call("post", `${prefix}/start`, { body: { bot_id: "default", initial_message: "Hello" } });
    expect(started.status).toBe(201);
    const id = started.body.conversation_id;
    await call("post", `${prefix}/start`, { body: { bot_id: "nobody" } });
    await call("post", `${prefix}/{id}/messages`, { params: { id }, body: { content: "And then?" } });
    await call("post", `${prefix}/{id}/messages`, { params: { id }, body: {} });
    await waitFor(async () => (await hub.api(`${prefix}/${id}/history`)).body.messages.length >= 4, 30_000, "both answered");
    await call("get", `${prefix}/{id}/history`, { params: { id }, query: "limit=10" });
    await call("get", `${prefix}/{id}/history`, { params: { id }, query: "limit=1000" });
    await call("get", prefix);
    await call("get", prefix, { key: null });
    if (prefix === "/api/conversations") {
      await call("patch", `${prefix}/{id}`, { params: { id }, body: { status: "archived" } });
      await call("patch", `${prefix}/{id}`, { params: { id: "00000000-0000-4000-8000-000000000000" }, body: { status: "archived" } });
    }
  });

  it("botuj's list", async () => {
    await call("get", "/v1/api/conversations", { query: "page=1&per_page=5" });
    await call("get", "/v1/api/conversations", { query: "per_page=0" });
  });

  it("the Conversation Service", async () => {
    const org = `org_id=${hub.orgId}`;
    const conversation = await call("post", "/api/conversation/create", { query: org, body: { title: "Contract" } });
    expect(conversation.status).toBe(201);
    const other = await createTestOrg(hub, "contract-other");
    await call("post", "/api/conversation/create", { query: `org_id=${other.orgId}`, body: { title: "Not mine" } });
    const assistants = (await hub.api("/api/assistants")).body.assistants;
    const model_id = assistants.find((a: { name: string }) => a.name === "default").id;
    const session = await call("post", "/api/conversation/create_session", {
      query: org,
      body: { conversation_id: conversation.body.id, model_id },
    });
    expect(session.status).toBe(201);
    const streamed = await call("post", "/api/conversation/stream_chat", {
      query: org,
      body: { chat_session_id: session.body.id, message: "Hello" },
    });
    expect(streamed.body).toContain("event: end");
    await call("post", "/api/conversation/stream_chat", { query: org, body: {} });
    await call("get", "/api/conversation/list", { query: org });
    await call("get", "/api/conversation/list");
    await call("get", "/api/conversation/get_with_sessions", { query: `${org}&conversation_id=${conversation.body.id}` });
    await call("get", "/api/conversation/messages", { query: `${org}&conversation_id=${conversation.body.id}` });
    await call("get", "/api/conversation/messages", { query: `${org}&conversation_id=00000000-0000-4000-8000-000000000000` });
  });

  it("the operator inbox", async () => {
    const started = await hub.api("/api/conversations/start", { body: { bot_id: "default" } });
    const conversationId = started.body.conversation_id;
    await call("get", "/api/inbox", { query: "state=all&limit=5" });
    await call("get", "/api/inbox", { query: "state=nope" });
    await call("post", "/api/inbox/{conversationId}/handoff", { params: { conversationId }, body: { reason: "Asked for a person" } });
    await call("post", "/api/inbox/{conversationId}/handoff", { params: { conversationId }, body: {} });
    await call("post", "/api/inbox/{conversationId}/takeover", { params: { conversationId }, body: { operator: "Ana" } });
    await call("post", "/api/inbox/{conversationId}/messages", { params: { conversationId }, body: { content: "Hi, Ana here." } });
    await call("post", "/api/inbox/{conversationId}/messages", { params: { conversationId }, body: { content: "" } });
    await call("post", "/api/inbox/{conversationId}/release", { params: { conversationId } });
    await call("post", "/api/inbox/{conversationId}/release", { params: { conversationId: "nobody" } });
  });

  it("Twilio's webhooks and numbers", async () => {
    const number = "+15550100200";
    await call("put", "/api/twilio/numbers/{number}", { params: { number }, body: { assistant: "default" } });
    await call("put", "/api/twilio/numbers/{number}", { params: { number }, body: { assistant: "nobody" } });
    await call("get", "/api/twilio/numbers");
    await call("get", "/api/twilio/numbers", { key: null });
    const message = whatsapp("+351900000777", number, "Olá");
    const webhook = await call("post", "/webhooks/twilio", { form: message, key: null });
    expect(webhook.status).toBe(200);
    await call("post", "/webhooks/twilio", { form: { Body: "no sid" }, key: null });
    await call("post", "/webhooks/twilio", { key: null, headers: { "content-type": "application/x-www-form-urlencoded" } });
    await call("post", "/webhooks/twilio/status", { form: { MessageSid: message.MessageSid, MessageStatus: "delivered" }, key: null });
    await call("delete", "/api/twilio/numbers/{number}", { params: { number } });
    await call("delete", "/api/twilio/numbers/{number}", { params: { number } });
  });

  it("the console's API, signed in with an operator's cookie", async () => {
    const admin = await addOperator(hub, hub.orgId, "admin");
    await call("post", "/api/console/login", { key: null, body: { email: admin.email, password: "wrong password" } });
    const { cookie } = await signIn(hub, admin.email);
    const asAdmin = { key: null, headers: { cookie, origin: hub.url } };
    await call("get", "/api/console/me", asAdmin);
    await call("get", "/api/console/operators", asAdmin);
    const added = await call("post", "/api/console/operators", {
      ...asAdmin,
      body: { email: "ana@example.test", password: PASSWORD, role: "agent" },
    });
    expect(added.status).toBe(201);
    await call("post", "/api/console/operators", { ...asAdmin, body: { email: "not an email" } });
    const removed = await call("delete", "/api/console/operators/{operatorId}", { ...asAdmin, params: { operatorId: added.body.id } });
    expect(removed.status).toBe(204);
    const started = await hub.api("/api/conversations/start", { body: { bot_id: "default", initial_message: "Hello" } });
    await call("get", "/api/console/conversations/{conversationId}", {
      ...asAdmin,
      params: { conversationId: started.body.conversation_id },
    });
    await call("get", "/api/console/conversations/{conversationId}", { ...asAdmin, params: { conversationId: "nobody" } });
    await call("post", "/api/console/logout", asAdmin);
    await call("get", "/api/console/me", asAdmin);
  });

  it("the end-user secret, and the socket path without an upgrade", async () => {
    await call("post", "/api/ws/end-user-secret", { body: {} });
    await call("post", "/api/ws/end-user-secret", { body: { secret: "short" } });
    const plain = await fetch(`${hub.url}/ws`);
    await plain.text();
    expect(doc.paths["/ws"].get.responses.default).toBeDefined();
    expect(plain.status).toBe(404);
  });
});
