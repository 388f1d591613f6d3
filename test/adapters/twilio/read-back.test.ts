import { type FakeTwilio, startFakeTwilio } from "../../fakes/twilio-server";
import { startTestHub, type TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { postWebhook, twilioEnv, whatsapp } from "../../support/twilio";

// A conversation held on WhatsApp is one conversation of the store: every API reads it back.

describe("a WhatsApp conversation read back through every API", () => {
  let twilio: FakeTwilio;
  let hub: TestHub;
  beforeAll(async () => {
    twilio = await startFakeTwilio();
    hub = await startTestHub("postgres", twilioEnv(twilio));
  });
  afterAll(async () => {
    await hub?.stop();
    await twilio?.close();
  });

  it("shows the user's message and the reply sent through Twilio in General Bots, botuj, the Conversation Service and the ask API", async () => {
    const params = whatsapp("+351912345678", "+14155238886", "What are your opening hours?");
    expect((await postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", params)).status).toBe(200);
    const sent = await waitFor(() => twilio.sends.find((s) => s.to === "whatsapp:+351912345678"));
    const key = "whatsapp_+351912345678";

    const history = (await hub.api(`/api/conversations/${encodeURIComponent(key)}/history`)).body;
    expect(history.messages.map((m: { sender: string; content: string }) => [m.sender, m.content])).toEqual([
      ["user", "What are your opening hours?"],
      ["bot", sent.body],
    ]);
    const listed = (await hub.api("/api/conversations")).body.conversations.find(
      (c: { last_message: string }) => c.last_message === sent.body,
    );
    expect(listed).toMatchObject({ bot_name: "default", status: "active" });

    const botuj = (await hub.api("/v1/api/conversations")).body.find((c: { sessionid: string }) => c.sessionid === key);
    expect(botuj).toMatchObject({ type: "whatsapp", count: 2, firstUserMessage: "What are your opening hours?" });
    expect(JSON.parse(botuj.firstBotMessage)).toEqual({ message: sent.body });

    const service = (await hub.api(`/api/conversation/messages?org_id=${hub.orgId}&conversation_id=${listed.id}`)).body;
    expect(service.map((m: { id: string }) => m.id)).toEqual(history.messages.map((m: { id: string }) => m.id));

    // The ask API names the conversation by the same id, and the WhatsApp message by its MessageSid.
    const again = await hub.api("/api/ai-hub/assistant/ask", {
      body: { message: { id: params.MessageSid, role: "user", content: params.Body }, id: key, assistantId: "default" },
    });
    expect(again.status).toBe(200);
    expect(again.body.message.content).toBe(sent.body);
    expect(twilio.sends.filter((s) => s.to === "whatsapp:+351912345678")).toHaveLength(1);
  });
});
