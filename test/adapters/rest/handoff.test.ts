import { askDriver, type ChannelDriver, conversationServiceDriver, generalBotsDriver, type Setup, twilioSid } from "../../channels/drivers";
import { createTestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";
import { startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

// Handoff end to end on each REST API (issue #14), driven the way its integrator does (test/channels/drivers.ts):
// the user asks for a person and gets the handoff message as the reply; an operator takes the conversation and
// writes, which the integrator reads in the conversation's history; what the user writes then is stored, shown
// and not answered; after release the assistant answers the next message.

const HANDOFF_MESSAGE = "A person from our team will answer you here.";

const CHANNELS: [string, (s: Setup) => ChannelDriver][] = [
  ["ask API", askDriver],
  ["General Bots API", generalBotsDriver],
  ["Conversation Service", conversationServiceDriver],
];

let setup: TwilioHub;
beforeAll(async () => {
  setup = await startTwilioHub("postgres", { HANDOFF_MESSAGE });
}, 120_000);
afterAll(() => setup?.stop());

describe.each(CHANNELS)("handoff on the %s", (_name, driverOf) => {
  it("bot -> waiting -> human (the operator's message in the history) -> held, not answered -> release -> answered", async () => {
    const { hub, openai } = setup;
    const org = await createTestOrg(hub, "handoff");
    const inbox = (id: string, action: string, body: object = {}) => org.api(`/api/inbox/${id}/${action}`, { body });
    const conversation = await driverOf(setup).open(org);
    try {
      await conversation.send(twilioSid(), "Hi");
      await conversation.received("Echo: Hi");
      await conversation.send(twilioSid(), "Can I talk to a human, please?");
      expect(await conversation.received(HANDOFF_MESSAGE)).toBe(HANDOFF_MESSAGE);
      const id = await conversation.conversationId();
      const waiting = await org.api("/api/inbox?state=waiting");
      expect(waiting.body.conversations.map((c: { id: string }) => c.id)).toEqual([id]);

      expect((await inbox(id, "takeover", { operator: "Ana" })).body).toMatchObject({ state: "human", assignee: "Ana" });
      expect((await inbox(id, "messages", { content: "Hi, Ana here. How can I help?", author: "Ana" })).status).toBe(201);
      expect(await conversation.receivedOutbound("Hi, Ana here. How can I help?")).toEqual({
        content: "Hi, Ana here. How can I help?",
        author: "Ana",
      });

      await conversation.send(twilioSid(), "My order is 1234");
      const prisma = hub.runtime.db.prisma;
      const held = await waitFor(() => prisma.message.findFirst({ where: { conversationId: id, content: "My order is 1234" } }));
      expect(held.status).toBe("held");

      expect((await inbox(id, "release")).body.state).toBe("bot");
      await conversation.send(twilioSid(), "What are your opening hours?");
      await conversation.received("Echo: What are your opening hours?");

      // The whole story as every history shows it: nothing answers the held message, then or later.
      const messages = await prisma.message.findMany({ where: { conversationId: id }, orderBy: { seq: "asc" } });
      expect(messages.map((m) => [m.role, m.content, m.status])).toEqual([
        ["user", "Hi", "answered"],
        ["assistant", "Echo: Hi", "sent"],
        ["user", "Can I talk to a human, please?", "answered"],
        ["assistant", HANDOFF_MESSAGE, "sent"],
        ["assistant", "Hi, Ana here. How can I help?", "sent"],
        ["user", "My order is 1234", "held"],
        ["user", "What are your opening hours?", "answered"],
        ["assistant", "Echo: What are your opening hours?", "sent"],
      ]);
      expect(messages.filter((m) => m.inReplyToId === held.id)).toEqual([]);
      expect(openai.requests.map((r) => r.body.messages.at(-1)?.content)).not.toContain("My order is 1234");
    } finally {
      await conversation.close();
    }
  });
});
