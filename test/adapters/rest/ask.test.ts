import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";
import { parseSse } from "../../support/sse";

const ASK = "/api/ai-hub/assistant/ask";
const PASSWORDS = `# Passwords\n\n## Resetting your password\n\nTo reset your password, open the login page, click "Forgot password" and follow the link we email you. The link expires in 24 hours.\n\n## Password rules\n\nPasswords need at least 12 characters.`;
const SHIPPING = `# Shipping\n\nWe ship parcels to Portugal and Poland within three working days.`;

describe.each(DB_KINDS)("POST /api/ai-hub/assistant/ask (%s)", (kind) => {
  let hub: TestHub;
  let faq: string;
  let shipping: string;

  beforeAll(async () => {
    hub = await startTestHub(kind);
    faq = (await hub.api("/api/folders", { body: { name: "FAQ" } })).body.id;
    shipping = (await hub.api("/api/folders", { body: { name: "Shipping" } })).body.id;
    await hub.api(`/api/folders/${faq}/documents`, { body: { title: "Password_Policy_v2", content: PASSWORDS } });
    await hub.api(`/api/folders/${shipping}/documents`, { body: { title: "Shipping_FAQ", content: SHIPPING } });
  });
  afterAll(() => hub?.stop());

  it("answers a question from the knowledge folder and names its sources", async () => {
    const res = await hub.api(ASK, {
      body: { message: { id: "m-1", role: "user", content: "How do I reset my password?" }, id: "conv-1", assistantId: "default" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, message: { role: "assistant" }, conversation_id: "conv-1" });
    expect(res.body.message.content).toContain("Forgot password");
    expect(res.body.metadata.knowledge_sources).toContain("Password_Policy_v2");
    expect(res.body.metadata.citations).toContainEqual(
      expect.objectContaining({ title: "Password_Policy_v2", heading: "Passwords > Resetting your password", page: null, url: null }),
    );
    expect(res.body.metadata.processing_time).toBeGreaterThanOrEqual(0);
    expect(res.body.metadata.tokens_used).toBeGreaterThan(0);
    expect(Date.parse(res.body.message.createdAt)).not.toBeNaN();
  });

  it("searches only the folders named in foldersId", async () => {
    const res = await hub.api(ASK, {
      body: { message: { content: "How do I reset my password?" }, id: "conv-folders", assistantId: "default", foldersId: [shipping] },
    });
    expect(res.status).toBe(200);
    expect(res.body.metadata.knowledge_sources).not.toContain("Password_Policy_v2");
    expect(res.body.message.content).not.toContain("Forgot password");
  });

  it("returns the one stored reply when the same message.id is sent twice", async () => {
    const body = { message: { id: "dup-1", role: "user", content: "Where do you ship?" }, id: "conv-dup", assistantId: "default" };
    const first = await hub.api(ASK, { body });
    const second = await hub.api(ASK, { body });
    expect(first.status).toBe(200);
    expect(second.body.message).toEqual(first.body.message);
    const conversation = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: "conv-dup" } });
    const replies = await hub.runtime.db.prisma.message.count({ where: { conversationId: conversation.id, role: "assistant" } });
    expect(replies).toBe(1);
  });

  it("keeps lower-cased metadata with the conversation", async () => {
    await hub.api(ASK, {
      body: { message: { content: "hello" }, id: "conv-meta", assistantId: "default", metadata: { User_Tier: "premium", Channel: "web" } },
    });
    await hub.api(ASK, {
      body: { message: { content: "again" }, id: "conv-meta", assistantId: "default", metadata: { LANGUAGE: "pt-BR" } },
    });
    const conversation = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: "conv-meta" } });
    expect(conversation.metadata).toEqual({ user_tier: "premium", channel: "web", language: "pt-BR" });
  });

  it("stores a system message as context without answering it", async () => {
    const res = await hub.api(ASK, {
      body: {
        message: { role: "system", content: "User is a VIP customer with priority support" },
        id: "conv-sys",
        assistantId: "default",
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, message: null });
    const messages = await hub.runtime.db.prisma.message.findMany({ where: { conversation: { externalId: "conv-sys" } } });
    expect(messages.map((m) => [m.role, m.status])).toEqual([["system", "context"]]);
  });

  it("answers in preview mode without persisting an assistant", async () => {
    const before = await hub.runtime.db.prisma.assistant.count();
    const res = await hub.api(ASK, {
      body: {
        message: { id: "p-1", role: "user", content: "Where do you ship parcels?" },
        id: "preview_conv_123",
        assistantId: "preview_assistant",
        previewAssistantData: { name: "Test Assistant", description: "Testing new configuration" },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.message.content).toContain("Portugal");
    expect(await hub.runtime.db.prisma.assistant.count()).toBe(before);
  });

  it("streams deltas and then the final message over SSE when asked", async () => {
    const res = await fetch(hub.url + ASK, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.key}`, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ message: { content: "What are the password rules?" }, id: "conv-sse", assistantId: "default" }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = parseSse(await res.text());
    const deltas = events.filter((e) => e.event === "delta").map((e) => e.data.content);
    const final = events.at(-1);
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    expect(final?.event).toBe("message");
    expect(deltas.join("")).toBe(final?.data.message.content);
    expect(final?.data.metadata.knowledge_sources).toContain("Password_Policy_v2");
  });
});
