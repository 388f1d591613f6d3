import fc from "fast-check";
import { startTestHub, type TestHub } from "../support/hub";

// Hostile input on every public HTTP endpoint: arbitrary bodies, content types, headers and query strings
// must get an answer below 500, and leave no unhandled rejection behind.

/** Endpoints with `:folder`, `:assistant`, `:conversation` and `:org` standing for real ids of the test's org. */
const ENDPOINTS: [method: string, path: string][] = [
  ["POST", "/api/ai-hub/assistant/ask"],
  ["GET", "/api/assistants"],
  ["POST", "/api/assistants"],
  ["GET", "/api/assistants/:assistant"],
  ["PATCH", "/api/assistants/:assistant"],
  ["GET", "/api/folders"],
  ["POST", "/api/folders"],
  ["GET", "/api/folders/:folder"],
  ["POST", "/api/folders/:folder/documents"],
  ["DELETE", "/api/folders/:folder/documents/:folder"],
  ["GET", "/healthz"],
  ["GET", "/api/me"],
  ["POST", "/api/conversations/start"],
  ["POST", "/api/conversations/:conversation/messages"],
  ["GET", "/api/conversations/:conversation/history"],
  ["GET", "/conversations"],
  ["PATCH", "/api/conversations/:conversation"],
  ["GET", "/v1/api/conversations"],
  ["POST", "/api/conversation/create?org_id=:org"],
  ["POST", "/api/conversation/create_session?org_id=:org"],
  ["POST", "/api/conversation/stream_chat?org_id=:org"],
  ["GET", "/api/conversation/list?org_id=:org"],
  ["GET", "/api/conversation/messages?org_id=:org&conversation_id=:conversation"],
  ["GET", "/api/conversation/get_with_sessions?org_id=:org&conversation_id=:conversation"],
];

const CONTENT_TYPES = [
  "application/json",
  "text/plain",
  "text/markdown",
  "application/x-www-form-urlencoded",
  "",
  "application/json; charset=latin1",
];

// Any code point (fc.string() alone is printable ASCII), and U+0000 often: Postgres cannot store it.
const text = () => fc.oneof(fc.string({ unit: "binary" }), fc.constantFrom("\u0000", "a\u0000b"));
const jsonValue = () => fc.jsonValue({ stringUnit: "binary" });

/** JSON shaped like the ask body, with any field replaced by anything: reaches past the first checks. */
const askLike = fc.record(
  {
    message: fc.oneof(
      fc.record(
        { id: fc.oneof(text(), fc.integer()), role: fc.constantFrom("user", "system", "assistant", "bot"), content: text() },
        { requiredKeys: [] },
      ),
      jsonValue(),
    ),
    id: fc.oneof(text(), jsonValue()),
    assistantId: fc.oneof(fc.constant("default"), text(), jsonValue()),
    metadata: fc.oneof(fc.dictionary(text(), jsonValue()), jsonValue()),
    foldersId: fc.oneof(fc.array(text()), jsonValue()),
    previewAssistantData: fc.oneof(fc.record({ name: text(), description: text() }), jsonValue()),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  jsonValue().map((v) => JSON.stringify(v)),
  askLike.map((v) => JSON.stringify(v)),
  text(),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString("latin1")),
);

describe("hostile HTTP input", () => {
  let hub: TestHub;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  let ids: Record<string, string>;

  beforeAll(async () => {
    process.on("unhandledRejection", onRejection);
    hub = await startTestHub("postgres", { RATE_LIMIT_PER_MINUTE: "100000", ASK_TIMEOUT_MS: "2000" });
    const folder = (await hub.api("/api/folders", { body: { name: "F" } })).body.id;
    const assistant = (await hub.api("/api/assistants/default")).body.id;
    const conversation = (await hub.api("/api/conversations/start", { body: { bot_id: "default" } })).body.conversation_id;
    ids = { ":folder": folder, ":assistant": assistant, ":conversation": conversation, ":org": hub.orgId };
  });
  afterAll(async () => {
    process.off("unhandledRejection", onRejection);
    await hub?.stop();
  });

  it("never answers 5xx, whatever the body, content type, headers and query", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS),
        body,
        fc.constantFrom(...CONTENT_TYPES),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
        fc.constantFrom("text/event-stream", "application/json", "*/*"),
        async ([method, template], payload, contentType, query, accept) => {
          const path = template.replace(/:folder|:assistant|:conversation|:org/g, (m) => ids[m]);
          const qs = new URLSearchParams(query).toString();
          const res = await fetch(`${hub.url}${path}${qs ? `${path.includes("?") ? "&" : "?"}${qs}` : ""}`, {
            method,
            headers: { authorization: `Bearer ${hub.key}`, accept, ...(contentType ? { "content-type": contentType } : {}) },
            body: method === "GET" ? undefined : payload,
          });
          await res.arrayBuffer();
          if (res.status >= 500) {
            throw new Error(`${method} ${path} answered ${res.status} for ${JSON.stringify(payload).slice(0, 200)}`);
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(rejections).toEqual([]);
  });

  it("answers JSON nested 50,000 levels deep with 400 in each API's dialect, and goes on serving", async () => {
    const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
    const field = (name: string) => ({ issues: [{ field: name, message: expect.stringContaining("32 levels") }] });
    const management = (name: string) => ({ error: "invalid_message", ...field(name) });
    // [method, path, body around the nesting, what the API answers]
    const cases: [string, string, (nested: string) => string, object][] = [
      [
        "POST",
        "/api/ai-hub/assistant/ask",
        (d) => `{"message":{"content":"hi"},"assistantId":"default","metadata":{"tags":${d}}}`,
        { success: false, error: expect.any(String), ...field("metadata") },
      ],
      ["POST", "/api/conversations/start", (d) => `{"bot_id":"default","extra":${d}}`, { error: "invalid_message", ...field("extra") }],
      [
        "POST",
        "/conversations/:conversation/messages",
        (d) => `{"content":"hi","attachments":${d}}`,
        { error: "invalid_message", ...field("attachments") },
      ],
      [
        "POST",
        "/api/conversation/create?org_id=:org",
        (d) => `{"title":"t","extra":${d}}`,
        { detail: expect.any(String), ...field("extra") },
      ],
      ["POST", "/api/assistants", (d) => `{"name":"deep","extra":${d}}`, management("extra")],
      ["PATCH", "/api/assistants/:assistant", (d) => `{"suggestions":${d}}`, management("suggestions")],
      ["POST", "/api/folders/:folder/documents", (d) => `{"title":"t","content":"c","extra":${d}}`, management("extra")],
      [
        "POST",
        "/api/ws/end-user-secret",
        (d) => `{"secret":${d}}`,
        { error: "invalid_message", message: expect.stringContaining("32 levels") },
      ],
    ];
    for (const [method, template, wrap, answer] of cases) {
      const path = template.replace(/:folder|:assistant|:conversation|:org/g, (m) => ids[m]);
      // The end-user secret takes 4 KiB at most: 1,000 levels fit.
      const res = await hub.api(path, { method, body: wrap(deep(path.includes("secret") ? 1_000 : 50_000)) });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.body).toMatchObject(answer);
    }
    const ask = await hub.api("/api/ai-hub/assistant/ask", {
      body: { message: { content: "still there?" }, assistantId: "default", metadata: { tags: JSON.parse(deep(30)) } },
    });
    expect(ask.status).toBe(200);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    expect(rejections).toEqual([]);
  });

  it("refuses oversized bodies with 413 in the API's dialect", async () => {
    const big = JSON.stringify({ message: { id: "x", role: "user", content: "a".repeat(2_000_000) }, assistantId: "default" });
    const res = await hub.api("/api/ai-hub/assistant/ask", { body: big });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ success: false });
    const doc = await hub.api(`/api/folders/${ids[":folder"]}/documents`, {
      body: JSON.stringify({ title: "t", content: "a".repeat(20_000_000) }),
    });
    expect(doc.status).toBe(413);
    expect(doc.body).toMatchObject({ error: expect.any(String) });
  });
});
