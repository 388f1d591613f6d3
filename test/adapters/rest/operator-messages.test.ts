import { type FakeOpenAI, startFakeOpenAI } from "../../fakes/openai-server";
import { type FakeTwilio, startFakeTwilio } from "../../fakes/twilio-server";
import { startTestHub, type TestHub } from "../../support/hub";
import { createTestOrg, type TestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";
import { postWebhook, twilioEnv, whatsapp } from "../../support/twilio";

// POST /api/inbox/:conversationId/messages (issue #14): an operator's message goes to the user on the
// conversation's channel, is kept as the business speaking (with its author) in every history, is seen by the
// assistant's next turn, and is refused, with nothing stored, where the channel could no longer deliver it.

const HUB_NUMBER = "+14155550177";

describe("an operator's message", () => {
  let hub: TestHub;
  let openai: FakeOpenAI;
  let twilio: FakeTwilio;
  let org: TestOrg;
  let other: TestOrg;
  let users = 0;

  beforeAll(async () => {
    [openai, twilio] = await Promise.all([startFakeOpenAI(), startFakeTwilio()]);
    hub = await startTestHub("postgres", { ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: openai.url, ...twilioEnv(twilio) });
    [org, other] = await Promise.all([createTestOrg(hub, "shop"), createTestOrg(hub, "intruder")]);
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    await Promise.all([openai?.close(), twilio?.close()]);
  });

  const prisma = () => hub.runtime.db.prisma;
  const send = (as: TestOrg, ref: string, body: unknown, headers: Record<string, string> = {}) =>
    as.api(`/api/inbox/${encodeURIComponent(ref)}/messages`, { body, headers });

  /** A General Bots conversation of the org, answered once. */
  async function conversation(as: TestOrg = org) {
    const start = await as.api("/api/conversations/start", { body: { bot_id: "default", initial_message: "hello" } });
    const id: string = start.body.conversation_id;
    await waitFor(() => prisma().message.findFirst({ where: { conversationId: id, content: "Echo: hello" } }));
    return id;
  }

  /** A WhatsApp user of the default org who wrote and was answered; its conversation's channel id. */
  async function whatsAppUser() {
    const user = `+35191${String(++users).padStart(7, "0")}`;
    await postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, "hi there"));
    await waitFor(() => twilio.sends.find((s) => s.to === `whatsapp:${user}` && s.body === "Echo: hi there"));
    return { user, ref: `whatsapp_${user}` };
  }

  it("is shown with its author in the General Bots history and the Conversation Service's messages", async () => {
    const id = await conversation();
    const res = await send(org, id, { content: "Ana here, from the team", author: "Ana" });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      conversationId: id,
      role: "assistant",
      content: "Ana here, from the team",
      status: "sent",
      author: { kind: "operator", name: "Ana" },
      createdAt: expect.any(String),
    });

    const history = await org.api(`/api/conversations/${id}/history`);
    expect(history.body.messages.at(-1)).toEqual({
      id: res.body.id,
      sender: "bot",
      content: "Ana here, from the team",
      timestamp: res.body.createdAt,
      author: { kind: "operator", name: "Ana" },
    });
    // The assistant's reply has no author: the author tells them apart.
    expect(history.body.messages.find((m: any) => m.content === "Echo: hello")).not.toHaveProperty("author");
    const messages = await org.api(`/api/conversation/messages?org_id=${org.orgId}&conversation_id=${id}`);
    expect(messages.body.at(-1)).toMatchObject({ id: res.body.id, role: "assistant", author: { kind: "operator", name: "Ana" } });
  });

  it("heads a conversation's botuj listing with its author when an operator wrote first", async () => {
    const start = await org.api("/api/conversations/start", { body: { bot_id: "default" } });
    const id: string = start.body.conversation_id;
    await send(org, id, { content: "Welcome, I am Ana", author: "Ana" });
    const listed = await org.api("/v1/api/conversations?per_page=100");
    const row = listed.body.find((c: any) => c.sessionid === id);
    expect(JSON.parse(row.firstBotMessage)).toEqual({ message: "Welcome, I am Ana", author: { kind: "operator", name: "Ana" } });
    // An assistant's first reply stays as the document shows it.
    const answered = await conversation();
    const other = (await org.api("/v1/api/conversations?per_page=100")).body.find((c: any) => c.sessionid === answered);
    expect(JSON.parse(other.firstBotMessage)).toEqual({ message: "Echo: hello" });
  });

  it("takes the conversation for its operator: the assistant answers none of the user's messages until released", async () => {
    const id = await conversation();
    expect((await send(org, id, { content: "I have refunded your order", author: "Ana" })).status).toBe(201);
    expect(await prisma().conversation.findUniqueOrThrow({ where: { id } })).toMatchObject({
      handoffState: "human",
      handoffAssignee: "Ana",
    });
    await org.api(`/api/conversations/${id}/messages`, { body: { content: "thanks!" } });
    const held = await waitFor(() => prisma().message.findFirst({ where: { conversationId: id, content: "thanks!", status: "held" } }));
    expect(await prisma().message.count({ where: { inReplyToId: held.id } })).toBe(0);

    // Another operator writing does not take it from Ana.
    expect((await send(org, id, { content: "Ben here too", author: "Ben" })).status).toBe(201);
    expect(await prisma().conversation.findUniqueOrThrow({ where: { id } })).toMatchObject({ handoffAssignee: "Ana" });
    expect((await org.api(`/api/inbox/${id}/release`, { body: {} })).status).toBe(200);
  });

  it("answers no turn, and the assistant's next turn sees it in its history as the business speaking", async () => {
    const id = await conversation();
    await send(org, id, { content: "I have refunded your order", author: "Ana" });
    expect((await org.api(`/api/inbox/${id}/release`, { body: {} })).status).toBe(200);
    await org.api(`/api/conversations/${id}/messages`, { body: { content: "thanks, and the invoice?" } });
    const reply = await waitFor(() =>
      prisma().message.findFirst({ where: { conversationId: id, content: "Echo: thanks, and the invoice?" } }),
    );
    expect(reply.inReplyToId).not.toBeNull();

    const request = openai.requests.find((r) => r.body.messages.at(-1)?.content === "thanks, and the invoice?");
    const history = request?.body.messages.filter((m) => m.role !== "system").map((m) => [m.role, m.content]);
    expect(history).toEqual([
      ["user", "hello"],
      ["assistant", "Echo: hello"],
      ["assistant", "I have refunded your order"],
      ["user", "thanks, and the invoice?"],
    ]);
    // One message answers each turn; the operator's answers none.
    const operator = await prisma().message.findFirstOrThrow({ where: { conversationId: id, content: "I have refunded your order" } });
    expect(operator).toMatchObject({ inReplyToId: null, followUpOfId: null });
  });

  it("goes to a WhatsApp user through Twilio, named by the conversation's channel id", async () => {
    const { user, ref } = await whatsAppUser();
    const res = await send(hub, ref, { content: "A person here: **how can I help?**" });
    expect(res.status).toBe(201);
    expect(res.body.author).toEqual({ kind: "operator", name: "Operator" });
    const sent = await waitFor(() =>
      twilio.sends.find((s) => s.to === `whatsapp:${user}` && s.body === "A person here: *how can I help?*"),
    );
    expect(sent.from).toBe(`whatsapp:${HUB_NUMBER}`);
  });

  it("is refused on WhatsApp 24 hours after the user last wrote there, and nothing is stored or sent", async () => {
    const { user, ref } = await whatsAppUser();
    const conversation = await prisma().conversation.findFirstOrThrow({ where: { externalId: ref } });
    const lastWrote = new Date(Date.now() - 25 * 3600_000);
    await prisma().message.updateMany({ where: { conversationId: conversation.id, role: "user" }, data: { createdAt: lastWrote } });
    // A message an API posts into the conversation is not the user writing on WhatsApp: the window stays shut.
    await hub.api(`/api/conversations/${encodeURIComponent(ref)}/messages`, { body: { content: "noted by the API" } });
    await waitFor(() => prisma().message.findFirst({ where: { conversationId: conversation.id, content: "Echo: noted by the API" } }));
    const before = await prisma().message.count({ where: { conversationId: conversation.id } });

    const res = await send(hub, ref, { content: "Are you still there?" });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ error: "outside_window", message: expect.stringContaining(lastWrote.toISOString()) });
    expect(res.body.message).toMatch(/only approved templates/);
    expect(await prisma().message.count({ where: { conversationId: conversation.id } })).toBe(before);
    expect(twilio.sends.filter((s) => s.to === `whatsapp:${user}` && s.body === "Are you still there?")).toEqual([]);
  });

  it("sent again with the same Idempotency-Key is the message stored the first time, not a second one", async () => {
    const id = await conversation();
    const headers = { "idempotency-key": "operator-retry-1" };
    const first = await send(org, id, { content: "Only once" }, headers);
    const again = await send(org, id, { content: "Only once" }, headers);
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(first.body.id);
    expect(await prisma().message.count({ where: { conversationId: id, content: "Only once" } })).toBe(1);
  });

  it("to another org's conversation, or none, is not found, and stores nothing", async () => {
    const id = await conversation();
    const { ref: whatsAppRef } = await whatsAppUser();
    for (const ref of [id, whatsAppRef, "no-such-conversation"]) {
      const res = await send(other, ref, { content: "intrusion" });
      expect(res).toMatchObject({ status: 404, body: { error: "not_found", message: "Conversation not found" } });
    }
    expect(await prisma().message.count({ where: { content: "intrusion" } })).toBe(0);
    const anonymous = await hub.api(`/api/inbox/${id}/messages`, { body: { content: "hi" }, headers: { authorization: "" } });
    expect(anonymous).toMatchObject({ status: 401, body: { error: "unauthorized" } });
  });

  it.each([
    ["no content", {}, "content"],
    ["empty content", { content: "   " }, "content"],
    ["content over 4096 characters", { content: "x".repeat(4097) }, "content"],
    ["content not text", { content: 42 }, "content"],
    ["an empty author", { content: "hi", author: "" }, "author"],
    ["an unknown field", { content: "hi", to: "+351" }, "body"],
  ])("with %s is a 400 in the management API's shape", async (_what, body, field) => {
    const id = await conversation();
    const res = await send(org, id, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "invalid_message", message: "Invalid message", issues: [expect.objectContaining({ field })] });
  });

  it("with a body that is not JSON is a 400 in the management API's shape", async () => {
    const res = await org.api("/api/inbox/anything/messages", { body: "{not json" });
    expect(res).toMatchObject({ status: 400, body: { error: "invalid_message", issues: [{ field: "body" }] } });
  });
});
