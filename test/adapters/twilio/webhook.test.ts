import { IMAGES_NOT_READ } from "../../../src/photos";
import type { FakeOpenAI } from "../../fakes/openai-server";
import type { FakeTwilio } from "../../fakes/twilio-server";
import { DB_KINDS } from "../../support/databases";
import type { TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { messageSid, PUBLIC_URL, postWebhook, whatsapp } from "../../support/twilio";
import { startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

const HUB_NUMBER = "+14155238886";

describe.each(DB_KINDS)("the Twilio webhook (%s)", (kind) => {
  let hub: TestHub;
  let openai: FakeOpenAI;
  let twilio: FakeTwilio;
  let n = 0;
  // A new user per test, so conversations and rate limits never cross tests.
  const newUser = () => `+1555${kind === "postgres" ? 1 : 2}${String(++n).padStart(6, "0")}`;

  let setup: TwilioHub;
  beforeAll(async () => {
    setup = await startTwilioHub(kind);
    ({ hub, openai, twilio } = setup);
  });
  afterAll(() => setup?.stop());
  afterEach(() => openai.setDelay(0));

  const post = (params: Record<string, string>, signature?: string | null) =>
    postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", params, signature);
  const sendsTo = (to: string) => twilio.sends.filter((s) => s.to === to);
  const messagesOf = (conversationKey: string) =>
    hub.runtime.db.prisma.message.findMany({ where: { conversation: { externalId: conversationKey } }, orderBy: { seq: "asc" } });

  it("answers a signed WhatsApp message at once with empty TwiML, then sends the reply from the number written to", async () => {
    const user = newUser();
    // The assistant takes its time: the webhook's answer must not wait for it (how fast it acks is a
    // figure of `npm run bench`, not of this test).
    openai.setDelay(1500);
    const res = await post(whatsapp(user, HUB_NUMBER, "Hello there"));
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/text\/xml/);
    expect(res.body).toMatch(/<Response\/>/);
    const answered = openai.requests.filter((r) => r.answeredAt && JSON.stringify(r.body).includes("Hello there"));
    expect(answered).toEqual([]);

    const [send] = await waitFor(() => sendsTo(`whatsapp:${user}`).length && sendsTo(`whatsapp:${user}`));
    expect(send).toMatchObject({ from: `whatsapp:${HUB_NUMBER}`, to: `whatsapp:${user}`, body: "Echo: Hello there" });
    expect(send.statusCallback).toMatch(new RegExp(`^${PUBLIC_URL}/webhooks/twilio/status\\?part=`));

    const conversation = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: `whatsapp_${user}` } });
    expect(conversation).toMatchObject({ channel: "whatsapp", orgId: hub.orgId, userId: user });
    const reply = await waitFor(async () => (await messagesOf(`whatsapp_${user}`)).find((m) => m.providerId));
    expect(reply).toMatchObject({ role: "assistant", status: "queued", providerId: send.sid });
  });

  it("answers a plain SMS by SMS", async () => {
    const user = newUser();
    await post({ MessageSid: messageSid(), From: user, To: HUB_NUMBER, Body: "Plain text", NumMedia: "0" });
    const [send] = await waitFor(() => sendsTo(user).length && sendsTo(user));
    expect(send).toMatchObject({ from: HUB_NUMBER, to: user, body: "Echo: Plain text" });
    expect(await messagesOf(`sms_${user}`)).toHaveLength(2);
  });

  it("refuses a forged or missing signature with 403 and stores nothing", async () => {
    const user = newUser();
    const params = whatsapp(user, HUB_NUMBER, "Let me in");
    expect((await post(params, "bm90IGEgc2lnbmF0dXJl")).status).toBe(403);
    expect((await post(params, null)).status).toBe(403);
    // Signed for other fields: the signature covers every parameter.
    const other = await postWebhook(hub.url, "not-the-auth-token", "/webhooks/twilio", params);
    expect(other.status).toBe(403);
    expect(await hub.runtime.db.prisma.message.count({ where: { externalId: params.MessageSid } })).toBe(0);
    expect(await hub.runtime.db.prisma.conversation.count({ where: { externalId: `whatsapp_${user}` } })).toBe(0);
  });

  it("accepts a retried webhook (same MessageSid) once and answers it once", async () => {
    const user = newUser();
    const params = whatsapp(user, HUB_NUMBER, "Only once");
    const results = await Promise.all([post(params), post(params)]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    await waitFor(() => sendsTo(`whatsapp:${user}`).length);
    expect((await post(params)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(sendsTo(`whatsapp:${user}`)).toHaveLength(1);
    expect((await messagesOf(`whatsapp_${user}`)).map((m) => m.role)).toEqual(["user", "assistant"]);
  });

  it("answers two quick messages of one user in order, the second seeing the first", async () => {
    const user = newUser();
    openai.setDelay(200);
    const from = openai.requests.length;
    await post(whatsapp(user, HUB_NUMBER, "first"));
    await post(whatsapp(user, HUB_NUMBER, "second"));
    const sends = await waitFor(() => sendsTo(`whatsapp:${user}`).length === 2 && sendsTo(`whatsapp:${user}`));
    expect(sends.map((s) => s.body)).toEqual(["Echo: first", "Echo: second"]);
    const calls = openai.requests.slice(from).map((r) => r.body.messages.filter((m) => m.role !== "system").map((m) => m.content));
    // History is in order of acceptance: "second" was accepted before the reply to "first" existed.
    expect(calls).toEqual([["first"], ["first", "second"]]);
  });

  it("keeps media as attachments and answers a photo with no text, for an assistant that reads no images, saying so", async () => {
    const user = newUser();
    const media = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0";
    await post(whatsapp(user, HUB_NUMBER, "", { NumMedia: "1", MediaUrl0: media, MediaContentType0: "image/jpeg" }));
    const [send] = await waitFor(() => sendsTo(`whatsapp:${user}`).length && sendsTo(`whatsapp:${user}`));
    expect(send.body).toBe(IMAGES_NOT_READ);
    const [turn] = await messagesOf(`whatsapp_${user}`);
    expect(turn.attachments).toEqual([{ url: media, contentType: "image/jpeg" }]);
    expect(turn.metadata).toMatchObject({ channel: "whatsapp", phone_number: user, profile_name: "Ana" });
  });

  it("refuses a malformed request with 400 and a forged status callback with 403", async () => {
    const bad = await post({ From: "whatsapp:+15550000000", Body: "no sid, no To" });
    expect(bad.status).toBe(400);
    const status = await postWebhook(
      hub.url,
      twilio.authToken,
      "/webhooks/twilio/status",
      { MessageSid: "SMx", MessageStatus: "read" },
      "x",
    );
    expect(status.status).toBe(403);
  });

  it("routes an unbound number to the default assistant and a bound one to its assistant", async () => {
    const created = await hub.api("/api/assistants", { body: { name: `sales-${kind}`, instructions: "You sell boats." } });
    expect(created.status).toBe(201);
    const bound = "+14155550100";
    const bind = await hub.api(`/api/twilio/numbers/${encodeURIComponent(`whatsapp:${bound}`)}`, {
      method: "PUT",
      body: { assistant: `sales-${kind}` },
    });
    expect(bind.status).toBe(200);
    expect(bind.body).toMatchObject({ number: bound, assistantId: created.body.id, assistantName: `sales-${kind}` });
    expect((await hub.api("/api/twilio/numbers")).body.numbers).toHaveLength(1);

    const [a, b] = [newUser(), newUser()];
    await post(whatsapp(a, HUB_NUMBER, "to the default"));
    await post(whatsapp(b, bound, "to sales"));
    await waitFor(() => sendsTo(`whatsapp:${a}`).length && sendsTo(`whatsapp:${b}`).length);
    expect(sendsTo(`whatsapp:${b}`)[0].from).toBe(`whatsapp:${bound}`);
    const system = (text: string) =>
      openai.requests.find((r) => r.body.messages.some((m) => m.content === text))!.body.messages.find((m) => m.role === "system")!.content;
    expect(system("to sales")).toContain("You sell boats.");
    expect(system("to the default")).not.toContain("You sell boats.");
    const convA = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: `whatsapp_${a}` } });
    const convB = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: `whatsapp_${b}` } });
    expect(convB.assistantId).toBe(created.body.id);
    expect(convA.assistantId).not.toBe(created.body.id);

    const invalid = await hub.api("/api/twilio/numbers/12345", { method: "PUT", body: { assistant: "default" } });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ error: "invalid_message", issues: [{ field: "number" }] });
    const unknown = await hub.api(`/api/twilio/numbers/${bound}`, { method: "PUT", body: { assistant: "nobody" } });
    expect(unknown.status).toBe(400);
    // 16 KiB holds 8,000 levels of nesting: more than 32 is refused before anything walks them.
    const deep = await hub.api(`/api/twilio/numbers/${bound}`, {
      method: "PUT",
      body: `{"assistant":${"[".repeat(8000)}${"]".repeat(8000)}}`,
    });
    expect(deep.status).toBe(400);
    expect(deep.body).toMatchObject({
      error: "invalid_message",
      issues: [{ field: "assistant", message: expect.stringContaining("32 levels") }],
    });
    expect((await hub.api(`/api/twilio/numbers/${bound}`, { method: "DELETE" })).status).toBe(204);
    expect((await hub.api(`/api/twilio/numbers/${bound}`, { method: "DELETE" })).status).toBe(404);
    expect((await hub.api("/api/twilio/numbers", { headers: { authorization: "Bearer nope" } })).status).toBe(401);
  });
});
