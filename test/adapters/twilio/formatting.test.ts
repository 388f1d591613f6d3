import { type FakeTwilio, startFakeTwilio } from "../../fakes/twilio-server";
import { startTestHub, type TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { postWebhook, twilioEnv, whatsapp } from "../../support/twilio";

// The built-in knowledge assistant answers with the passage it found, Markdown and all: what a WhatsApp or
// SMS user reads is that Markdown written in their channel's own style. Rendering does not depend on the
// database, so one kind is enough here.

const HUB_NUMBER = "+14155238886";
const HOURS = [
  "## Opening hours",
  "The shop is open **Monday to Friday**, _9 to 5_.",
  "- Saturday: 10 to 2\n- Sunday: closed",
  "See [our calendar](https://shop.example/calendar).",
].join("\n\n");

describe("replies through Twilio, written for the channel they go to", () => {
  let hub: TestHub;
  let twilio: FakeTwilio;

  beforeAll(async () => {
    twilio = await startFakeTwilio();
    hub = await startTestHub("postgres", twilioEnv(twilio));
    // WhatsApp and SMS users are the public: they read public folders.
    const folder = (await hub.api("/api/folders", { body: { name: "Shop", public: true } })).body.id;
    const doc = await hub.api(`/api/folders/${folder}/documents`, { body: { title: "Hours", content: HOURS } });
    expect(doc.status).toBe(201);
  });
  afterAll(async () => {
    await hub?.stop();
    await twilio?.close();
  });

  const ask = (params: Record<string, string>) => postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", params);
  const sendTo = (to: string) => waitFor(() => twilio.sends.find((s) => s.to === to), 30_000);

  it("sends a WhatsApp user WhatsApp's formatting: bold heading, *bold*, _italic_, bullets, links written out", async () => {
    const user = "+15550003001";
    expect((await ask(whatsapp(user, HUB_NUMBER, "What are the opening hours of the shop?"))).status).toBe(200);
    const { body } = await sendTo(`whatsapp:${user}`);
    expect(body).toContain("*Opening hours*\n\nThe shop is open *Monday to Friday*, _9 to 5_.");
    expect(body).toContain("• Saturday: 10 to 2\n• Sunday: closed");
    expect(body).toContain("See our calendar (https://shop.example/calendar).");
    expect(body).not.toMatch(/\*\*|#|\]\(|^- /m);
    // What the hub stored is what the assistant wrote: only the message sent is rewritten.
    const reply = await hub.runtime.db.prisma.message.findFirstOrThrow({
      where: { role: "assistant", conversation: { externalId: `whatsapp_${user}` } },
    });
    expect(reply.content).toContain("## Opening hours");
    expect(reply.content).toContain("**Monday to Friday**");
  });

  it("sends an SMS user plain text, with the same words and links", async () => {
    const user = "+15550003002";
    const sms = { ...whatsapp(user, HUB_NUMBER, "What are the opening hours of the shop?"), From: user, To: HUB_NUMBER };
    expect((await ask(sms)).status).toBe(200);
    const { body } = await sendTo(user);
    expect(body).toContain("Opening hours\n\nThe shop is open Monday to Friday, 9 to 5.");
    expect(body).toContain("- Saturday: 10 to 2\n- Sunday: closed");
    expect(body).toContain("See our calendar (https://shop.example/calendar).");
    expect(body).not.toMatch(/[*_#•]|\]\(/);
  });
});
