import { waitFor } from "../../support/processes";
import { postWebhook, whatsapp } from "../../support/twilio";
import { startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

// Handoff on WhatsApp: the handoff message goes out through Twilio like any reply, and so does the operator's
// message; what the user writes while a person has the conversation is stored, and nothing is sent for it; after
// release the assistant answers again.

const HUB_NUMBER = "+14155238886";
const USER = "+351911000111";
const HANDOFF_MESSAGE = "A person from our team will answer you here.";

describe("handoff on WhatsApp", () => {
  let setup: TwilioHub;
  beforeAll(async () => {
    setup = await startTwilioHub("postgres", { HANDOFF_MESSAGE });
  });
  afterAll(() => setup?.stop());

  const write = (body: string) => postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(USER, HUB_NUMBER, body));
  const sent = () => setup.twilio.sends.filter((s) => s.to === `whatsapp:${USER}`).map((s) => s.body);
  const inbox = (action: string, body: object = {}) =>
    setup.hub.api(`/api/inbox/${encodeURIComponent(`whatsapp_${USER}`)}/${action}`, { body });

  it("bot -> waiting (message sent through Twilio) -> human (operator's message sent) -> held -> release -> answered", async () => {
    expect((await write("Hi")).status).toBe(200);
    await waitFor(() => sent().length === 1);
    expect((await write("Quero falar com um atendente, por favor")).status).toBe(200);
    await waitFor(() => sent().length === 2);
    expect(sent()).toEqual(["Echo: Hi", HANDOFF_MESSAGE]);
    const waiting = await setup.hub.api("/api/inbox?state=waiting");
    expect(waiting.body.conversations.map((c: any) => c.externalId)).toContain(`whatsapp_${USER}`);

    expect((await inbox("takeover", { operator: "Ana" })).body).toMatchObject({ state: "human", channel: "whatsapp" });
    expect((await inbox("messages", { content: "Olá, sou a Ana. Em que posso ajudar?", author: "Ana" })).status).toBe(201);
    await waitFor(() => sent().length === 3);
    const fromOperator = setup.twilio.sends.at(-1);
    expect(fromOperator).toMatchObject({ from: `whatsapp:${HUB_NUMBER}`, body: "Olá, sou a Ana. Em que posso ajudar?" });
    expect((await write("Are you there?")).status).toBe(200);
    const prisma = setup.hub.runtime.db.prisma;
    const held = await waitFor(() =>
      prisma.message.findFirst({ where: { conversation: { externalId: `whatsapp_${USER}` }, content: "Are you there?" } }),
    );
    expect(held.status).toBe("held");

    expect((await inbox("release")).body.state).toBe("bot");
    expect((await write("Opening hours?")).status).toBe(200);
    await waitFor(() => sent().length === 4);
    // Nothing was ever sent for the held message, and the model never saw it as a question to answer.
    expect(sent()).toEqual(["Echo: Hi", HANDOFF_MESSAGE, "Olá, sou a Ana. Em que posso ajudar?", "Echo: Opening hours?"]);
    expect(setup.openai.requests.map((r) => r.body.messages.at(-1)?.content)).not.toContain("Are you there?");
  });
});
