import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";

// One conversation, written and read through every API: they are views of one store and one pipeline.

describe.each(DB_KINDS)("the conversation APIs share one store (%s)", (kind) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub(kind);
  });
  afterAll(() => hub?.stop());

  it("reads a conversation begun on the ask API's WhatsApp pattern through General Bots, botuj and the Conversation Service", async () => {
    const key = "whatsapp_+351912345678";
    const ask = await hub.api("/api/ai-hub/assistant/ask", {
      body: { message: { id: "SM1", content: "Olá" }, id: key, assistantId: "default", metadata: { channel: "whatsapp" } },
    });
    expect(ask.status).toBe(200);

    const history = (await hub.api(`/api/conversations/${encodeURIComponent(key)}/history`)).body;
    expect(history.messages.map((m: { sender: string; content: string }) => [m.sender, m.content])).toEqual([
      ["user", "Olá"],
      ["bot", ask.body.message.content],
    ]);
    const listed = (await hub.api("/api/conversations")).body.conversations.find(
      (c: { last_message: string }) => c.last_message === ask.body.message.content,
    );
    expect(listed).toMatchObject({ bot_name: "default", status: "active" });

    const botuj = (await hub.api("/v1/api/conversations")).body.find((c: { sessionid: string }) => c.sessionid === key);
    expect(botuj).toMatchObject({ type: "whatsapp", count: 2, firstUserMessage: "Olá" });

    const messages = (await hub.api(`/api/conversation/messages?org_id=${hub.orgId}&conversation_id=${listed.id}`)).body;
    expect(messages.map((m: { id: string }) => m.id)).toEqual(history.messages.map((m: { id: string }) => m.id));
  });

  it("answers messages sent through General Bots and the Conversation Service in one conversation, in order", async () => {
    const { conversation_id: id } = (await hub.api("/api/conversations/start", { body: { bot_id: "default", initial_message: "one" } }))
      .body;
    await hub.api(`/api/conversations/${id}/messages`, { body: { content: "two" } });
    const session = (
      await hub.api(`/api/conversation/create_session?org_id=${hub.orgId}`, { body: { conversation_id: id, model_id: "default" } })
    ).body;
    const stream = await fetch(`${hub.url}/api/conversation/stream_chat?org_id=${hub.orgId}`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.key}`, "content-type": "application/json" },
      body: JSON.stringify({ chat_session_id: session.id, message: "three" }),
    });
    await stream.text();
    // The ask API names the conversation by its channel id, which for a conversation started here is its id.
    await hub.api("/api/ai-hub/assistant/ask", { body: { message: { content: "four" }, id, assistantId: "default" } });

    const history = await waitFor(async () => {
      const body = (await hub.api(`/api/conversations/${id}/history`)).body;
      return body.messages.length === 8 && body;
    });
    const users = history.messages.filter((m: { sender: string }) => m.sender === "user").map((m: { content: string }) => m.content);
    expect(users).toEqual(["one", "two", "three", "four"]);
    const rows = await hub.runtime.db.prisma.message.findMany({ where: { conversationId: id }, orderBy: { seq: "asc" } });
    const turns = rows.filter((r) => r.role === "user").map((r) => r.id);
    const replies = rows.filter((r) => r.role === "assistant").map((r) => r.inReplyToId);
    expect(replies).toEqual(turns);
    const botuj = (await hub.api("/v1/api/conversations")).body.find((c: { sessionid: string }) => c.sessionid === id);
    expect(botuj).toMatchObject({ count: 8, firstUserMessage: "one" });
  });
});
