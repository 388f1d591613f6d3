import { connect } from "../adapters/ws/client";
import type { TestHub } from "../support/hub";
import { waitFor } from "../support/processes";
import { postWebhook, whatsapp } from "../support/twilio";
import { startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// The registry's outbound path for a message that answers no turn (what an operator writes, issue #14): it
// goes where the conversation's latest verified reply address points, through that channel's sender, with the
// deliver worker's guarantees; a push channel's listeners get it over the reply bus, with no delivery job.

const HUB_NUMBER = "+14155238886";
const USER = "+15550009999";

describe("sending a business-side message through its conversation's channel", () => {
  let setup: TwilioHub;
  let hub: TestHub;
  beforeAll(async () => {
    setup = await startTwilioHub("postgres");
    hub = setup.hub;
  });
  afterAll(() => setup?.stop());

  const prisma = () => hub.runtime.db.prisma;

  /** Stores a business-side message that answers no message, the way an operator's is stored, and sends it. */
  async function sendBusinessMessage(conversationId: string, content: string) {
    const { replyAddress, status } = await hub.runtime.channels.outboundOf(conversationId);
    const message = await prisma().message.create({
      data: { conversationId, role: "assistant", content, status, replyAddress: replyAddress ? { ...replyAddress } : undefined },
    });
    await hub.runtime.channels.send(message, hub.orgId);
    return message;
  }

  it("sends it to the WhatsApp user who wrote last, from the number they wrote to, once", async () => {
    await postWebhook(hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(USER, HUB_NUMBER, "anyone there?"));
    await waitFor(() => setup.twilio.sends.find((s) => s.body === "Echo: anyone there?"));
    const conversation = await prisma().conversation.findFirstOrThrow({ where: { externalId: `whatsapp_${USER}` } });

    const message = await sendBusinessMessage(conversation.id, "A person here: **how can I help?**");
    expect(message.status).toBe("unsent");
    await hub.runtime.channels.send(message, hub.orgId);

    const sent = await waitFor(() => setup.twilio.sends.find((s) => s.body === "A person here: *how can I help?*"));
    expect(sent).toMatchObject({ from: `whatsapp:${HUB_NUMBER}`, to: `whatsapp:${USER}` });
    await waitFor(async () => (await prisma().message.findUniqueOrThrow({ where: { id: message.id } })).status !== "unsent");
    expect(setup.twilio.sends.filter((s) => s.body === sent.body)).toHaveLength(1);
  });

  it("shows it on the widget's socket of the conversation, with no delivery job", async () => {
    const socket = await connect(hub.url, { user_id: "visitor-1" }, { headers: { authorization: `Bearer ${hub.key}` } });
    try {
      const status = await socket.next((f) => f.type === "status");
      const message = await sendBusinessMessage(status.conversation_id, "A person here");
      expect(message.status).toBe("sent");
      const frame = await socket.next((f) => f.type === "message" && f.content === "A person here");
      expect(frame).toMatchObject({ id: message.id, sender: "bot", session_id: status.session_id });
      expect(await hub.runtime.deliverQueue.getJobState(message.id)).toBe("unknown");
    } finally {
      await socket.close();
    }
  });

  it("refuses a second channel that sends through the same API", () => {
    const sender = hub.runtime.channels.senderFor("twilio");
    expect(sender).not.toBeNull();
    expect(() => hub.runtime.channels.register([{ name: "twilio-again", routers: [], sender: sender! }])).toThrow(
      /already sends through twilio/,
    );
  });
});
