import { enqueueDelivery } from "../../../src/queue";
import type { FakeOpenAI } from "../../fakes/openai-server";
import type { FakeTwilio } from "../../fakes/twilio-server";
import { DB_KINDS } from "../../support/databases";
import type { TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { postWebhook, whatsapp } from "../../support/twilio";
import { delivered, startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

const HUB_NUMBER = "+14155238886";
const settle = (ms = 700) => new Promise((r) => setTimeout(r, ms));

describe.each(DB_KINDS)("delivering replies through Twilio (%s)", (kind) => {
  let hub: TestHub;
  let openai: FakeOpenAI;
  let twilio: FakeTwilio;
  let n = 0;
  const newUser = () => `+1666${kind === "postgres" ? 1 : 2}${String(++n).padStart(6, "0")}`;

  let setup: TwilioHub;
  beforeAll(async () => {
    setup = await startTwilioHub(kind, { SWEEP_INTERVAL_MS: "200", SWEEP_AFTER_MS: "600", DELIVER_MAX_BACKOFF_MS: "3000" });
    ({ hub, openai, twilio } = setup);
  });
  afterAll(() => setup?.stop());

  const prisma = () => hub.runtime.db.prisma;
  const sendsTo = (user: string) => twilio.sends.filter((s) => s.to === `whatsapp:${user}`);
  const attemptsFor = (body: string) => twilio.attempts.filter((a) => a.body === body);
  const ask = (user: string, text: string) => postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, text));
  const replyTo = (user: string) =>
    prisma().message.findFirst({
      where: { role: "assistant", conversation: { externalId: `whatsapp_${user}` } },
      include: { outboundParts: true },
    });
  const callback = (statusCallback: string, params: Record<string, string>) =>
    postWebhook(hub.url, twilio.authToken, statusCallback.slice(statusCallback.indexOf("/webhooks")), params);

  it("sends a part once when a second delivery of its reply starts while the first is still sending", async () => {
    const user = newUser();
    twilio.setDelay(2000);
    try {
      await ask(user, "slow send");
      await waitFor(() => attemptsFor("Echo: slow send").length);
      // As the outbox check does after Redis lost the running job: another job for the same reply.
      const reply = await waitFor(() => replyTo(user));
      const again = await hub.runtime.deliverQueue.add("reply", { messageId: reply.id }, { jobId: `${reply.id}-again` });
      await waitFor(async () => (await again.getState()) === "completed");
      expect(attemptsFor("Echo: slow send")).toHaveLength(1);
      expect(sendsTo(user)).toHaveLength(1);
    } finally {
      twilio.setDelay(0);
    }
  });

  it("sends exactly once after a 500 followed by a success", async () => {
    const user = newUser();
    twilio.failNext(1);
    await ask(user, "retry me");
    await waitFor(() => sendsTo(user).length);
    await settle();
    expect(attemptsFor("Echo: retry me").map((a) => a.status)).toEqual([500, 201]);
    expect(sendsTo(user)).toHaveLength(1);
    const reply = await replyTo(user);
    expect(reply).toMatchObject({ status: "queued", providerId: sendsTo(user)[0].sid, error: null });
  });

  it("waits as long as a 429's Retry-After asks before sending again", async () => {
    const user = newUser();
    twilio.throttleNext(2);
    await ask(user, "slow down");
    await waitFor(() => sendsTo(user).length, 8000);
    const [throttled, accepted] = attemptsFor("Echo: slow down");
    expect(throttled.status).toBe(429);
    expect(accepted.receivedAt - throttled.receivedAt).toBeGreaterThanOrEqual(1900);
    expect(sendsTo(user)).toHaveLength(1);
  });

  it("reads Retry-After on a 503 too, and waits no longer than DELIVER_MAX_BACKOFF_MS however long it asks", async () => {
    const user = newUser();
    twilio.throttleNext(3600, 503);
    await ask(user, "an hour?");
    await waitFor(() => sendsTo(user).length, 15_000);
    const [throttled, accepted] = attemptsFor("Echo: an hour?");
    expect(throttled.status).toBe(503);
    // Without the header the next try comes within a second; with it uncapped, an hour later.
    expect(accepted.receivedAt - throttled.receivedAt).toBeGreaterThanOrEqual(2900);
    expect(sendsTo(user)).toHaveLength(1);
  });

  it("records a permanent refusal on the reply and does not retry it", async () => {
    const user = newUser();
    // (63016, the window closed, is refused as permanently, then held or recorded outside_window: window.test.ts.)
    twilio.refuse(`whatsapp:${user}`, 21211, "The 'To' number is not a valid phone number.");
    await ask(user, "too late");
    const reply = await waitFor(async () => {
      const r = await replyTo(user);
      return r?.status === "failed" && r;
    });
    expect(reply.error).toMatch(/Twilio 400 error 21211/);
    expect(reply.outboundParts).toMatchObject([{ status: "failed", providerId: null }]);
    await settle(1500);
    expect(attemptsFor("Echo: too late")).toHaveLength(1);
  });

  it("sends a 4,000-character reply as ordered parts of at most 1600, skipping parts already sent on a retry", async () => {
    const user = newUser();
    const long = Array.from({ length: 100 }, (_, i) => `Sentence ${i + 1} of a long answer about boats.`).join(" ");
    expect(long.length).toBeGreaterThan(4000);
    openai.setReply(() => long);
    twilio.failNext(1, 1);
    try {
      await ask(user, "tell me everything");
      const sends = await waitFor(() => sendsTo(user).length === 3 && sendsTo(user), 8000);
      expect(sends.every((s) => s.body.length <= 1600 && s.body.endsWith("boats."))).toBe(true);
      expect(sends.map((s) => s.body).join(" ")).toBe(long);
      // Part 2 failed once: the retried job sent it and then part 3, and did not send part 1 again.
      expect(sends.map((s) => attemptsFor(s.body).map((a) => a.status))).toEqual([[201], [500, 201], [201]]);
      // The fake has the third part a moment before the worker records its SID.
      const reply = await waitFor(async () => {
        const r = await replyTo(user);
        return r?.outboundParts.every((p) => p.providerId) && r;
      });
      expect(reply.outboundParts.sort((a, b) => a.position - b.position).map((p) => p.providerId)).toEqual(sends.map((s) => s.sid));
    } finally {
      openai.setReply((body) => `Echo: ${body.messages.at(-1)?.content}`);
    }
  });

  it("records status callbacks on the reply, never moving it back when they arrive out of order", async () => {
    const user = newUser();
    await ask(user, "track me");
    const [send] = await waitFor(() => sendsTo(user).length && sendsTo(user));
    const status = async () => (await replyTo(user))!.status;
    await waitFor(async () => (await status()) === "queued");
    const base = { MessageSid: send.sid, AccountSid: twilio.accountSid, From: send.from, To: send.to };
    expect((await callback(send.statusCallback!, { ...base, MessageStatus: "sent" })).status).toBe(204);
    expect(await status()).toBe("sent");
    await callback(send.statusCallback!, { ...base, MessageStatus: "read" });
    await callback(send.statusCallback!, { ...base, MessageStatus: "delivered" });
    expect(await status()).toBe("read");
    await callback(send.statusCallback!, { ...base, MessageStatus: "undelivered", ErrorCode: "30003" });
    const reply = await replyTo(user);
    expect(reply).toMatchObject({ status: "undelivered", error: "Twilio error 30003" });
  });

  it("does not send a part again when its callback recorded the SID the process died before storing", async () => {
    const user = newUser();
    await ask(user, "exactly once");
    const [send] = await waitFor(() => sendsTo(user).length && sendsTo(user));
    const reply = await waitFor(async () => {
      const r = await replyTo(user);
      return r?.outboundParts[0]?.providerId && r;
    });
    // As if the process died between Twilio's answer and recording it: the part has no SID.
    await prisma().outboundPart.update({ where: { id: reply.outboundParts[0].id }, data: { providerId: null, status: "pending" } });
    await callback(send.statusCallback!, { MessageSid: send.sid, MessageStatus: "sent", To: send.to, From: send.from });
    expect((await replyTo(user))!.outboundParts[0]).toMatchObject({ providerId: send.sid, status: "sent" });
    await delivered(hub, reply.id);
    await (await hub.runtime.deliverQueue.getJob(reply.id))?.remove();
    await enqueueDelivery(hub.runtime.deliverQueue, reply.id);
    await settle();
    expect(sendsTo(user)).toHaveLength(1);
  });

  it("delivers a reply stored but never handed to the deliver queue (the outbox check)", async () => {
    const user = newUser();
    const { channels } = hub.runtime;
    const deliver = channels.deliver;
    // As if the process died right after storing the reply, before enqueueing its delivery.
    channels.deliver = async () => {};
    try {
      await ask(user, "lost handoff");
      await waitFor(() => replyTo(user));
    } finally {
      channels.deliver = deliver;
    }
    const [send] = await waitFor(() => sendsTo(user).length && sendsTo(user), 5000);
    expect(send.body).toBe("Echo: lost handoff");
    await settle(1000);
    expect(sendsTo(user)).toHaveLength(1);
  });
});
