import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";

const ASK = "/api/ai-hub/assistant/ask";
const valid = { message: { id: "x", role: "user", content: "hi" }, id: "conv-e", assistantId: "default" };

describe.each(DB_KINDS)("bad input to the ask API gets the document's error shapes (%s)", (kind) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub(kind, { RATE_LIMIT_PER_MINUTE: "3" });
  });
  afterAll(() => hub?.stop());

  it("names a missing assistantId as the document does", async () => {
    const res = await hub.api(ASK, { body: { message: { content: "hi" }, id: "c" } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: "Message parse problem from ask assistant",
      issues: [{ field: "assistantId", message: "The assistant id is required!" }],
    });
  });

  it.each([
    ["no message", { id: "c", assistantId: "default" }, "message"],
    ["empty content", { message: { content: "  " }, assistantId: "default" }, "message.content"],
    ["an unknown role", { message: { content: "a", role: "bot" }, assistantId: "default" }, "message.role"],
    ["a non-object metadata", { message: { content: "a" }, assistantId: "default", metadata: "x" }, "metadata"],
    ["foldersId not an array", { message: { content: "a" }, assistantId: "default", foldersId: "f" }, "foldersId"],
    [
      "a folder of nobody",
      { message: { content: "a" }, assistantId: "default", foldersId: ["6f1c1e1e-0000-4000-8000-000000000000"] },
      "foldersId.0",
    ],
    ["a bad createdAt", { message: { content: "a", createdAt: "yesterday" }, assistantId: "default" }, "message.createdAt"],
  ])("refuses %s with a 400 naming the field", async (_name, body, field) => {
    const res = await hub.api(ASK, { body });
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.issues.map((i: { field: string }) => i.field)).toContain(field);
  });

  it.each([
    ["malformed JSON", "{not json"],
    ["a JSON array", "[1,2]"],
    ["a JSON string", '"hello"'],
  ])("refuses %s with a 400", async (_name, raw) => {
    const res = await hub.api(ASK, { body: raw });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, error: "Message parse problem from ask assistant" });
  });

  it("refuses a body over the size limit with 413", async () => {
    const res = await hub.api(ASK, { body: { ...valid, message: { content: "a".repeat(300_000) } } });
    expect(res.status).toBe(413);
    expect(res.body.success).toBe(false);
  });

  it("refuses requests without a valid key with 401", async () => {
    expect((await hub.api(ASK, { body: valid, headers: { authorization: "" } })).status).toBe(401);
    const wrong = await hub.api(ASK, { body: valid, headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ success: false, error: "Invalid API key" });
  });

  it("answers an unknown or undeployed assistant with the document's 404", async () => {
    const unknown = await hub.api(ASK, { body: { ...valid, assistantId: "550e8400-e29b-41d4-a716-446655440001" } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      success: false,
      error: "Assistant not found or not deployed",
      assistant_id: "550e8400-e29b-41d4-a716-446655440001",
    });
    await hub.api("/api/assistants", { body: { name: "draft", deployed: false } });
    const draft = await hub.api(ASK, { body: { ...valid, assistantId: "draft" } });
    expect(draft.status).toBe(404);
    expect(draft.body.assistant_id).toBe("draft");
    const stored = await hub.runtime.db.prisma.message.count({ where: { content: "hi" } });
    expect(stored).toBe(0);
  });

  it("applies an assistant's change through the API to the next ask at once (lookups are cached briefly)", async () => {
    const seasonal = (await hub.api("/api/assistants", { body: { name: "seasonal" } })).body;
    const ask = (conversation: string) =>
      hub.api(ASK, { body: { message: { content: "hello" }, id: conversation, assistantId: "seasonal" } });
    expect((await ask("conv-seasonal-1")).status).toBe(200);
    await hub.api(`/api/assistants/${seasonal.id}`, { method: "PATCH", body: { deployed: false } });
    expect((await ask("conv-seasonal-2")).status).toBe(404);
  });

  it("limits each user's messages a minute with the document's 429", async () => {
    const ask = (n: number) =>
      hub.api(ASK, { body: { message: { content: `hi ${n}` }, id: "conv-rl", assistantId: "default", metadata: { user_id: "u-rl" } } });
    for (let n = 0; n < 3; n++) expect((await ask(n)).status).toBe(200);
    const limited = await ask(3);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ success: false, error: "Rate limit exceeded" });
    expect(limited.body.retry_after).toBeGreaterThan(0);
    expect(limited.body.retry_after).toBeLessThanOrEqual(60);
    expect(limited.headers.get("retry-after")).toBe(String(limited.body.retry_after));
    // Another user is not limited by the first one's use.
    const other = await hub.api(ASK, {
      body: { message: { content: "hi" }, id: "conv-rl2", assistantId: "default", metadata: { user_id: "u-2" } },
    });
    expect(other.status).toBe(200);
  });
});
