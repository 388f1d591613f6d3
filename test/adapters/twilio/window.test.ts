import type { FakeTwilio } from "../../fakes/twilio-server";
import type { TestHub } from "../../support/hub";
import { createTestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";
import { postWebhook, whatsapp } from "../../support/twilio";
import { startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

const HUB_NUMBER = "+14155238886";
const TEMPLATE = `HX${"a".repeat(32)}`;
const DAY_MS = 24 * 3600_000;

describe("WhatsApp's 24-hour window and proactive messages", () => {
  let setup: TwilioHub;
  let hub: TestHub;
  let twilio: FakeTwilio;
  let n = 0;
  const newUser = () => `+1777${String(++n).padStart(7, "0")}`;

  beforeAll(async () => {
    setup = await startTwilioHub("postgres", { SWEEP_INTERVAL_MS: "200", SWEEP_AFTER_MS: "600" });
    ({ hub, twilio } = setup);
    expect((await hub.api(`/api/twilio/numbers/${HUB_NUMBER}`, { method: "PUT", body: { assistant: "default" } })).status).toBe(200);
  });
  afterAll(() => setup?.stop());

  const prisma = () => hub.runtime.db.prisma;
  const sendsTo = (user: string) => twilio.sends.filter((s) => s.to === `whatsapp:${user}`);
  const ask = (user: string, text: string) => postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, text));
  const messagesOf = (user: string) =>
    prisma().message.findMany({ where: { conversation: { externalId: `whatsapp_${user}` } }, orderBy: { seq: "asc" } });
  const setTemplate = (template: { content_sid: string } | null) =>
    hub.api(`/api/twilio/numbers/${HUB_NUMBER}`, { method: "PUT", body: { assistant: "default", reengagement_template: template } });
  /** The user's messages written a day and more ago: their window has closed. */
  const ageInbound = (user: string) =>
    prisma().$executeRaw`UPDATE messages SET created_at = created_at - ${DAY_MS + 60_000} * interval '1 millisecond'
      WHERE role = 'user' AND conversation_id = (SELECT id FROM conversations WHERE external_id = ${`whatsapp_${user}`})`;
  /** Twilio has a send a moment before the hub records its answer: its status callbacks come after that. */
  const sendRecorded = (user: string) =>
    waitFor(async () => (await messagesOf(user)).some((m) => m.role === "assistant" && m.status !== "unsent"), 15_000, "the send recorded");
  const proactive = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    hub.api("/api/twilio/messages", { body, headers });

  it("sends the number's template for a reply Twilio refuses with 63016, and the held reply once the user writes again", async () => {
    const user = newUser();
    expect((await setTemplate({ content_sid: TEMPLATE })).body).toMatchObject({ reengagementTemplate: { contentSid: TEMPLATE } });
    twilio.closeWindow(`whatsapp:${user}`);
    await ask(user, "late question");
    await waitFor(() => sendsTo(user).some((s) => s.contentSid === TEMPLATE), 15_000, "the template");
    const held = await waitFor(async () => (await messagesOf(user)).find((m) => m.status === "awaiting_window"));
    expect(held).toMatchObject({ content: "Echo: late question", error: expect.stringContaining("outside_window") });
    expect(sendsTo(user).filter((s) => !s.contentSid)).toHaveLength(0);

    twilio.openWindow(`whatsapp:${user}`);
    await ask(user, "I am back");
    await waitFor(() => sendsTo(user).length === 3, 15_000, "the held reply and the new one");
    expect(sendsTo(user).map((s) => s.contentSid ?? s.body)).toEqual([TEMPLATE, "Echo: late question", "Echo: I am back"]);
    // Twilio has the last send a moment before the hub records its answer.
    const replyStatuses = async () => (await messagesOf(user)).filter((m) => m.role === "assistant").map((m) => m.status);
    await waitFor(async () => !(await replyStatuses()).includes("unsent"), 15_000, "the sends recorded");
    expect(await replyStatuses()).toEqual(["queued", "queued", "queued"]);
  });

  describe("63016 reported in a status callback, after Twilio took the reply", () => {
    /** Twilio's callback for a send: it failed with 63016, the window having closed meanwhile. */
    const refusedLater = (send: { sid: string; statusCallback?: string; to: string; from: string }) =>
      postWebhook(hub.url, twilio.authToken, (send.statusCallback as string).slice((send.statusCallback as string).indexOf("/webhooks")), {
        MessageSid: send.sid,
        MessageStatus: "undelivered",
        ErrorCode: "63016",
        To: send.to,
        From: send.from,
      });

    it("sends the template once and holds the reply for the user's next message, as a refused send", async () => {
      const user = newUser();
      await setTemplate({ content_sid: TEMPLATE });
      await ask(user, "taken then refused");
      const [sent] = await waitFor(() => sendsTo(user).length && sendsTo(user), 15_000, "the reply sent");
      await sendRecorded(user);
      expect((await refusedLater(sent)).status).toBe(204);
      await waitFor(() => sendsTo(user).some((s) => s.contentSid === TEMPLATE), 15_000, "the template");
      const held = (await messagesOf(user)).find((m) => m.inReplyToId);
      expect(held).toMatchObject({ status: "awaiting_window", error: expect.stringMatching(/^outside_window: Twilio error 63016/) });
      // Twilio repeating the callback changes nothing: no second template, the reply still held.
      expect((await refusedLater(sent)).status).toBe(204);
      expect(sendsTo(user).filter((s) => s.contentSid)).toHaveLength(1);
      expect((await prisma().message.findUniqueOrThrow({ where: { id: held?.id } })).status).toBe("awaiting_window");

      await ask(user, "back again");
      await waitFor(() => sendsTo(user).length === 4, 15_000, "the held reply and the new one");
      expect(sendsTo(user).map((s) => s.contentSid ?? s.body)).toEqual([
        "Echo: taken then refused",
        TEMPLATE,
        "Echo: taken then refused",
        "Echo: back again",
      ]);
      expect((await prisma().message.findUniqueOrThrow({ where: { id: held?.id } })).status).toBe("queued");
    });

    it("records the reply undelivered, outside_window, when the number has no template", async () => {
      const user = newUser();
      await setTemplate(null);
      await ask(user, "no invitation");
      const [sent] = await waitFor(() => sendsTo(user).length && sendsTo(user), 15_000, "the reply sent");
      await sendRecorded(user);
      expect((await refusedLater(sent)).status).toBe(204);
      const reply = (await messagesOf(user)).find((m) => m.role === "assistant");
      expect(reply).toMatchObject({ status: "undelivered", error: expect.stringMatching(/^outside_window: .*no re-engagement template/) });
      expect(sendsTo(user)).toHaveLength(1);
    });
  });

  it("records a reply undeliverable, outside_window, when the window closed and no template is configured", async () => {
    const user = newUser();
    await setTemplate(null);
    twilio.closeWindow(`whatsapp:${user}`);
    await ask(user, "nobody invites me");
    const reply = await waitFor(async () => (await messagesOf(user)).find((m) => m.role === "assistant" && m.status !== "unsent"));
    expect(reply).toMatchObject({ status: "undelivered", error: expect.stringMatching(/^outside_window: .*no re-engagement template/) });
    expect(sendsTo(user)).toHaveLength(0);
  });

  it("holds a reply found outside the window before sending it, and sends nothing free-form", async () => {
    const user = newUser();
    await setTemplate({ content_sid: TEMPLATE });
    await ask(user, "hello");
    await waitFor(() => sendsTo(user).length === 1);
    await ageInbound(user);
    // A message the business writes a day later (as an operator's, stored past the API's check).
    const conversation = await prisma().conversation.findFirstOrThrow({ where: { externalId: `whatsapp_${user}` } });
    const { replyAddress, status } = await hub.runtime.channels.outboundOf(conversation.id);
    const late = await prisma().message.create({
      data: { conversationId: conversation.id, role: "assistant", content: "a day later", status, replyAddress: replyAddress as object },
    });
    await hub.runtime.channels.send(late, conversation.orgId);
    await waitFor(() => sendsTo(user).length === 2, 15_000, "the template");
    expect(sendsTo(user)[1]).toMatchObject({ contentSid: TEMPLATE });
    await waitFor(
      async () => (await prisma().message.findUniqueOrThrow({ where: { id: late.id } })).status === "awaiting_window",
      15_000,
      "the late message held",
    );
  });

  it("sends a proactive message: free text within the window, a template any time, once per Idempotency-Key", async () => {
    const user = newUser();
    const to = `whatsapp:${user}`;
    const from = `whatsapp:${HUB_NUMBER}`;
    const outside = await proactive({ to, from, body: "hi first" });
    expect(outside).toMatchObject({ status: 422, body: { error: "outside_window" } });

    const first = await proactive({ to, from, contentSid: TEMPLATE, contentVariables: { "1": "Ana" } }, { "idempotency-key": "promo-1" });
    expect(first).toMatchObject({ status: 201, body: { to, from, contentSid: TEMPLATE, body: null, status: "unsent" } });
    const again = await proactive({ to, from, contentSid: TEMPLATE, contentVariables: { "1": "Ana" } }, { "idempotency-key": "promo-1" });
    expect(again).toMatchObject({ status: 200, body: { id: first.body.id } });
    await waitFor(() => sendsTo(user).length === 1);
    expect(sendsTo(user)[0]).toMatchObject({ contentSid: TEMPLATE, contentVariables: '{"1":"Ana"}' });
    const sent = await waitFor(async () => {
      const m = await prisma().message.findUniqueOrThrow({ where: { id: first.body.id } });
      return m.status === "queued" && m;
    });
    expect(sent.conversationId).toBe(first.body.conversationId);

    // The user answers: the same conversation, and free text may go now.
    await ask(user, "what promo?");
    await waitFor(() => sendsTo(user).length === 2);
    const inside = await proactive({ to, from, body: "10% off today" });
    expect(inside).toMatchObject({ status: 201, body: { conversationId: first.body.conversationId, body: "10% off today" } });
    await waitFor(() => sendsTo(user).some((s) => s.body === "10% off today"));
    const history = await hub.api(`/api/conversations/${first.body.conversationId}/history`);
    expect(history.status).toBe(200);
    expect(JSON.stringify(history.body)).toContain("10% off today");
  });

  it("refuses bad input, and a number of another org as not found", async () => {
    const other = await createTestOrg(hub, "Elsewhere");
    const to = `whatsapp:${newUser()}`;
    const from = `whatsapp:${HUB_NUMBER}`;
    expect(await other.api("/api/twilio/messages", { body: { to, from, contentSid: TEMPLATE } })).toMatchObject({
      status: 404,
      body: { error: "not_found" },
    });
    expect(await proactive({ to, from })).toMatchObject({ status: 400, body: { error: "invalid_message", issues: [{ field: "body" }] } });
    expect(await proactive({ to, from, body: "x", contentSid: TEMPLATE })).toMatchObject({ status: 400 });
    expect(await proactive({ to: "12", from, body: "x" })).toMatchObject({ status: 400, body: { issues: [{ field: "to" }] } });
    expect(await proactive({ to, from, contentSid: "HX12" })).toMatchObject({ status: 400, body: { issues: [{ field: "contentSid" }] } });
    expect(await proactive({ to, from: "whatsapp:+15550009999", contentSid: TEMPLATE })).toMatchObject({ status: 404 });
  });
});
