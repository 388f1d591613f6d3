import { startPrivateRedis, waitFor } from "../support/processes";
import { postWebhook, whatsapp } from "../support/twilio";
import { delivered, startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// Fault drill: Twilio answers 503, so replies are being retried, when Redis restarts with nothing kept (no
// persistence): every delivery job is gone. Postgres is the record: once Twilio is back, every reply is sent
// once, and each conversation's replies in the order they were written.

const HUB_NUMBER = "+14155238886";
const USERS = [1, 2, 3, 4, 5].map((u) => `+1555610000${u}`);

describe("Redis restarted empty while Twilio sends are being retried", () => {
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let setup: TwilioHub;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    setup = await startTwilioHub("postgres", {
      REDIS_URL: redis.url,
      SWEEP_INTERVAL_MS: "300",
      SWEEP_AFTER_MS: "1000",
      DELIVER_MAX_BACKOFF_MS: "300",
    });
  });
  afterAll(async () => {
    await setup?.stop();
    await redis?.stop();
  });

  it("finds every reply not yet sent again, and sends each once, in each conversation's order", async () => {
    const { hub, twilio } = setup;
    const ask = (user: string, text: string) =>
      postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, text));
    const sendsTo = (user: string) => twilio.sends.filter((s) => s.to === `whatsapp:${user}`).map((s) => s.body);
    const tries = (body: string) => twilio.attempts.filter((a) => a.body === body).length;
    const replies = () =>
      hub.runtime.db.prisma.message.findMany({
        where: { role: "assistant", conversation: { externalId: { in: USERS.map((u) => `whatsapp_${u}`) } } },
        include: { outboundParts: true },
      });
    await twilio.down("503");

    for (const user of USERS) {
      expect((await ask(user, `first from ${user}`)).status).toBe(200);
      expect((await ask(user, `second from ${user}`)).status).toBe(200);
    }
    // Both replies of each conversation stored, and each first one refused by Twilio a few times already.
    await waitFor(
      async () => (await replies()).length === 2 * USERS.length && USERS.every((u) => tries(`Echo: first from ${u}`) >= 2),
      30_000,
      "every reply stored and the first ones tried",
    );

    await redis.stop();
    redis = await startPrivateRedis(redis.port);
    await twilio.up();

    const settled = async () => {
      const all = await replies();
      const states = await Promise.all(all.map((r) => hub.runtime.deliverQueue.getJobState(r.id)));
      return all.every((r) => r.outboundParts.every((p) => p.providerId)) && states.every((s) => s === "completed" || s === "unknown");
    };
    await waitFor(
      async () => USERS.every((u) => sendsTo(u).length >= 2) && settled(),
      60_000,
      "every reply sent after Redis lost its jobs",
    );
    for (const user of USERS) expect(sendsTo(user)).toEqual([`Echo: first from ${user}`, `Echo: second from ${user}`]);
  });

  it("takes an operator's message written while Redis is away (201, stored), and sends it once when Redis returns", async () => {
    const { hub, twilio } = setup;
    const user = "+15556100009";
    const ref = encodeURIComponent(`whatsapp_${user}`);
    expect((await postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, "hello"))).status).toBe(200);
    await waitFor(() => twilio.sends.some((s) => s.to === `whatsapp:${user}` && s.body === "Echo: hello"), 30_000, "the reply");

    await redis.stop();
    let res: Awaited<ReturnType<typeof hub.api>>;
    try {
      // Told it is stored: a client told it failed would write it again, and the user would get it twice.
      res = await hub.api(`/api/inbox/${ref}/messages`, { body: { content: "Ana here, while Redis is away", author: "Ana" } });
    } finally {
      redis = await startPrivateRedis(redis.port);
    }
    expect(res).toMatchObject({ status: 201, body: { status: "unsent", author: { name: "Ana" } } });
    await delivered(hub, res.body.id);
    expect(twilio.sends.filter((s) => s.to === `whatsapp:${user}`).map((s) => s.body)).toEqual([
      "Echo: hello",
      "Ana here, while Redis is away",
    ]);
  });
});
