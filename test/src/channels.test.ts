import { addressOf } from "../../src/channels";
import type { TestHub } from "../support/hub";
import { waitFor } from "../support/processes";
import { postWebhook, whatsapp } from "../support/twilio";
import { startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// The registry's outbound path for a message that answers no turn (what an operator writes, issue #14): it
// goes where the conversation's latest verified reply address points, through that channel's sender, with the
// deliver worker's guarantees; a push channel's conversation gets no delivery job.

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

  /** Stores a message of the business side that answers no message, the way an operator's would be stored. */
  async function storeBusinessMessage(conversationId: string, content: string) {
    const address = await addressOf(prisma(), { conversationId, inReplyToId: null, followUpOfId: null });
    // Stored with the address it goes to: it keeps going there whatever the user's next message came with.
    const status = hub.runtime.channels.statusFor(address);
    return prisma().message.create({
      data: { conversationId, role: "assistant", content, status, replyAddress: address ? { ...address } : undefined },
    });
  }

  it("sends it to the WhatsApp user who wrote last, from the number they wrote to, once", async () => {
    await postWebhook(hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(USER, HUB_NUMBER, "anyone there?"));
    await waitFor(() => setup.twilio.sends.find((s) => s.body === "Echo: anyone there?"));
    const conversation = await prisma().conversation.findFirstOrThrow({ where: { externalId: `whatsapp_${USER}` } });

    const message = await storeBusinessMessage(conversation.id, "A person here: **how can I help?**");
    expect(message.status).toBe("unsent");
    await hub.runtime.channels.deliver(message);
    await hub.runtime.channels.deliver(message);

    const sent = await waitFor(() => setup.twilio.sends.find((s) => s.body === "A person here: *how can I help?*"));
    expect(sent).toMatchObject({ from: `whatsapp:${HUB_NUMBER}`, to: `whatsapp:${USER}` });
    await waitFor(async () => (await prisma().message.findUniqueOrThrow({ where: { id: message.id } })).status !== "unsent");
    expect(setup.twilio.sends.filter((s) => s.body === sent.body)).toHaveLength(1);
  });

  it("leaves a push channel's message to the reply bus: stored sent, no delivery job", async () => {
    const asked = await hub.api("/api/ai-hub/assistant/ask", {
      body: { id: "push-conversation", assistantId: "default", message: { role: "user", content: "hi" } },
    });
    expect(asked.status).toBe(200);
    const conversation = await prisma().conversation.findFirstOrThrow({ where: { externalId: "push-conversation" } });
    const message = await storeBusinessMessage(conversation.id, "A person here");
    expect(message.status).toBe("sent");
    await hub.runtime.channels.deliver(message);
    expect(await hub.runtime.deliverQueue.getJobState(message.id)).toBe("unknown");
  });

  it("refuses a second channel that sends through the same API", () => {
    const sender = hub.runtime.channels.senderFor("twilio");
    expect(sender).not.toBeNull();
    expect(() => hub.runtime.channels.register([{ name: "twilio-again", routers: [], sender: sender! }])).toThrow(
      /already sends through twilio/,
    );
  });
});
