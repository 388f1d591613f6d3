import { unsentHeads } from "../../../src/outbound";
import { DB_KINDS } from "../../support/databases";
import type { TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { postWebhook, whatsapp } from "../../support/twilio";
import { delivered, startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

// Where a reply is sent comes only from the channel that received the message: the signed webhook. An API
// caller's metadata may name Twilio numbers; the reply to it goes back in the API's response and nowhere else.

const HUB_NUMBER = "+14155238886";
const VICTIM = "+19998887777";

describe.each(DB_KINDS)("where a reply is sent (%s)", (kind) => {
  let setup: TwilioHub;
  let hub: TestHub;
  beforeAll(async () => {
    setup = await startTwilioHub(kind);
    hub = setup.hub;
  });
  afterAll(() => setup?.stop());

  const sendsTo = (to: string) => setup.twilio.sends.filter((s) => s.to === to);

  it("sends nothing through Twilio for an ask whose metadata names Twilio numbers", async () => {
    const forged = { twilio: { from: `whatsapp:${VICTIM}`, to: `whatsapp:${HUB_NUMBER}` }, channel: "whatsapp" };
    const ask = await hub.api("/api/ai-hub/assistant/ask", {
      body: { message: { id: `forged-${kind}`, content: "Buy now" }, id: `whatsapp_${VICTIM}`, assistantId: "default", metadata: forged },
    });
    expect(ask.status).toBe(200);
    expect(ask.body.message.content).toBe("Echo: Buy now");

    const prisma = hub.runtime.db.prisma;
    const turn = await prisma.message.findFirstOrThrow({ where: { externalId: `forged-${kind}` }, include: { reply: true } });
    // The turn's job is done (publishing the reply and handing it to API channels came before).
    await waitFor(async () => (await hub.runtime.askQueue.getJobState(turn.id)) === "completed");
    expect(turn.replyAddress).toBeNull();
    expect(await hub.runtime.deliverQueue.getJobState(turn.reply!.id)).toBe("unknown");
    // Nor is it left for the outbox check, which hands over every reply still to send.
    expect(turn.reply?.status).toBe("sent");
    const heads = await unsentHeads(prisma, "00000000-0000-0000-0000-000000000000", 10_000);
    expect(heads.filter((h) => h.conversationId === turn.conversationId)).toEqual([]);
    expect(sendsTo(`whatsapp:${VICTIM}`)).toEqual([]);
    // The caller's label stays its own: the conversation is the ask API's.
    const conversation = await prisma.conversation.findUniqueOrThrow({ where: { id: turn.conversationId } });
    expect(conversation.channel).toBe("api");
  });

  it("answers a signed webhook to the number that wrote, whatever the message's metadata", async () => {
    const user = kind === "postgres" ? "+15550001001" : "+15550002001";
    const res = await postWebhook(hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, "Hi"));
    expect(res.status).toBe(200);
    const [send] = await waitFor(() => sendsTo(`whatsapp:${user}`).length && sendsTo(`whatsapp:${user}`));
    expect(send).toMatchObject({ from: `whatsapp:${HUB_NUMBER}`, to: `whatsapp:${user}` });
    const turn = await hub.runtime.db.prisma.message.findFirstOrThrow({
      where: { conversation: { externalId: `whatsapp_${user}` }, role: "user" },
    });
    expect(turn.replyAddress).toEqual({ via: "twilio", from: `whatsapp:${HUB_NUMBER}`, to: `whatsapp:${user}` });
    // A WhatsApp user is a member of the public: without folders of its assistant, it reads only public ones.
    expect(turn.turnOptions).toMatchObject({ fromPublic: true });
  });

  it("sends a turn's reply from the worker that answered it, without a deliver job", async () => {
    const user = kind === "postgres" ? "+15550001002" : "+15550002002";
    await postWebhook(hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, "straight out"));
    const [send] = await waitFor(() => sendsTo(`whatsapp:${user}`).length && sendsTo(`whatsapp:${user}`));
    expect(send.body).toBe("Echo: straight out");
    const reply = await hub.runtime.db.prisma.message.findFirstOrThrow({
      where: { conversation: { externalId: `whatsapp_${user}` }, role: "assistant" },
    });
    await delivered(hub, reply.id);
    expect(await hub.runtime.deliverQueue.getJobState(reply.id)).toBe("unknown");
    expect(sendsTo(`whatsapp:${user}`)).toHaveLength(1);
  });
});
