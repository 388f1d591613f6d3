import type { FakeTwilio } from "../fakes/twilio-server";
import type { TestHub } from "../support/hub";
import { type HubProcess, spawnHub, waitFor } from "../support/processes";
import { postWebhook, whatsapp } from "../support/twilio";
import { delivered, startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// Fault drill: Twilio's API down for a while (answering 503, or refusing connections) while WhatsApp messages
// keep coming. Once it is back, every message gets its reply, once, in its conversation's order; a reply
// Twilio never takes within the retry time is marked failed, and the conversation moves on.

const HUB_NUMBER = "+14155238886";
// More tries than a fixed count of ten would have allowed: sends stop being retried after a time, not a count.
const TRIES_WHILE_DOWN = 12;

describe("Twilio's API down for a while", () => {
  let twilio: FakeTwilio;
  let gateway: TestHub;
  let worker: HubProcess;

  let setup: TwilioHub;
  beforeAll(async () => {
    // Tries a few hundred milliseconds apart, so many rounds fit in a few seconds of outage.
    setup = await startTwilioHub("postgres", { ROLE: "gateway", DELIVER_MAX_BACKOFF_MS: "300" });
    ({ hub: gateway, twilio } = setup);
    // Turns and sends run in a process of their own, as `npm run start:worker` runs them.
    worker = await spawnHub({ ...gateway.env, ROLE: "worker" });
  });
  afterAll(async () => {
    worker?.proc.kill("SIGKILL");
    await setup?.stop();
  });

  const prisma = () => gateway.runtime.db.prisma;
  const sendsTo = (user: string) => twilio.sends.filter((s) => s.to === `whatsapp:${user}`);
  const repliesOf = (users: string[]) =>
    prisma().message.findMany({
      where: { role: "assistant", conversation: { externalId: { in: users.map((u) => `whatsapp_${u}`) } } },
      include: { outboundParts: true, conversation: { select: { userId: true } } },
      orderBy: { seq: "asc" },
    });
  const triesOf = async (replyId: string) => (await gateway.runtime.deliverQueue.getJob(replyId))?.attemptsMade ?? 0;

  it.each([
    ["answering 503 to every send", "503"],
    ["refusing connections", "closed"],
  ] as const)("%s: once it is back every message is answered once, in order", async (_, how) => {
    const users = [1, 2, 3, 4].map((u) => `+1555${how === "503" ? 7 : 8}00000${u}`);
    const questions = new Map(users.map((user) => [user, [1, 2, 3, 4].map((i) => `${how} question ${i} from ${user}`)]));
    await twilio.down(how);

    // Each user writes one message after another; the conversations go in parallel.
    await Promise.all(
      users.map(async (user) => {
        for (const text of questions.get(user) ?? []) {
          const res = await postWebhook(gateway.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, text));
          expect(res.status).toBe(200);
        }
      }),
    );
    const replies = await waitFor(async () => {
      const r = await repliesOf(users);
      return r.length === 16 && r;
    });
    // Down for many rounds of retries: the first reply of each conversation tried again and again.
    const firsts = users.map((user) => replies.find((r) => r.conversation.userId === user)?.id as string);
    await waitFor(
      async () => {
        const given = (await repliesOf(users)).filter((r) => r.status === "failed");
        if (given.length) throw new Error(`replies given up while Twilio was down: ${given.map((r) => r.error).join("; ")}`);
        return (await Promise.all(firsts.map(triesOf))).every((n) => n >= TRIES_WHILE_DOWN);
      },
      30_000,
      `${TRIES_WHILE_DOWN} tries of each conversation's first reply`,
    );
    for (const user of users) expect(sendsTo(user)).toEqual([]);

    await twilio.up();
    await waitFor(
      async () => {
        const r = await repliesOf(users);
        const states = await Promise.all(r.map((m) => gateway.runtime.deliverQueue.getJobState(m.id)));
        return r.every((m) => m.outboundParts.every((p) => p.providerId)) && states.every((s) => s === "completed" || s === "unknown");
      },
      30_000,
      "every reply sent and its delivery done",
    );

    // Each message answered by one send, its reply, from the number written to, in the order written.
    for (const user of users) {
      const sends = sendsTo(user);
      expect(sends.map((s) => s.body)).toEqual(questions.get(user)?.map((q) => `Echo: ${q}`));
      expect(sends.every((s) => s.from === `whatsapp:${HUB_NUMBER}`)).toBe(true);
    }
    for (const reply of await repliesOf(users)) {
      const send = twilio.sends.find((s) => s.body === reply.content);
      expect(reply).toMatchObject({ status: "queued", providerId: send?.sid, error: null });
    }
    if (how === "503") {
      // What Twilio saw of each first reply: refused round after round, then taken once.
      for (const id of firsts) {
        const body = replies.find((r) => r.id === id)?.content;
        const statuses = twilio.attempts.filter((a) => a.body === body).map((a) => a.status);
        expect(statuses.length).toBeGreaterThan(TRIES_WHILE_DOWN);
        expect(statuses.slice(0, -1).every((s) => s === 503)).toBe(true);
        expect(statuses.at(-1)).toBe(201);
      }
    }
  });

  it("a long outage: a later reply waits for the earlier one retried all along, then both go out in order", async () => {
    const user = "+15557900001";
    const ask = (text: string) => postWebhook(gateway.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, text));
    await twilio.down("503");
    await ask("long outage: first");
    const first = await waitFor(async () => {
      const [reply] = await repliesOf([user]);
      return reply && (await triesOf(reply.id)) >= 2 && reply;
    });
    // As if Twilio had been down for twenty minutes: the reply was written that long ago, and tried all along.
    await prisma().message.update({ where: { id: first.id }, data: { createdAt: new Date(Date.now() - 20 * 60_000) } });
    await ask("long outage: second");
    const second = await waitFor(async () => (await repliesOf([user]))[1]);
    const tries = await triesOf(first.id);
    await waitFor(async () => (await triesOf(first.id)) >= tries + 5, 20_000, "more tries of the first reply");
    expect(twilio.attempts.filter((a) => a.body === second.content)).toEqual([]);

    await twilio.up();
    await waitFor(() => sendsTo(user).length === 2, 20_000, "both replies sent");
    expect(sendsTo(user).map((s) => s.body)).toEqual(["Echo: long outage: first", "Echo: long outage: second"]);
  });
});

describe("Twilio's API down for longer than the retry time", () => {
  let twilio: FakeTwilio;
  let hub: TestHub;

  let setup: TwilioHub;
  beforeAll(async () => {
    setup = await startTwilioHub("pglite", { DELIVER_MAX_BACKOFF_MS: "200", DELIVER_RETRY_FOR_MS: "2000" });
    ({ hub, twilio } = setup);
  });
  afterAll(() => setup?.stop());

  it("marks the replies failed with Twilio's answer, sends them no more, and answers the next message", async () => {
    const user = "+15559000001";
    const ask = (text: string) => postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, text));
    const replies = () =>
      hub.runtime.db.prisma.message.findMany({
        where: { role: "assistant", conversation: { externalId: `whatsapp_${user}` } },
        orderBy: { seq: "asc" },
      });
    await twilio.down("503");
    await ask("anyone there?");
    await ask("hello?");
    const failed = await waitFor(async () => {
      const r = await replies();
      return r.length === 2 && r.every((m) => m.status === "failed") && r;
    });
    for (const reply of failed) expect(reply.error).toMatch(/Twilio 503 error 20503/);
    const refused = twilio.attempts.length;
    expect(refused).toBeGreaterThan(2);

    await twilio.up();
    await ask("back?");
    const [send] = await waitFor(() => twilio.sends.length && twilio.sends);
    expect(send.body).toBe("Echo: back?");
    await delivered(hub, (await replies())[2].id);
    expect(twilio.sends).toHaveLength(1);
    expect(twilio.attempts.slice(refused).map((a) => a.body)).toEqual(["Echo: back?"]);
  });
});
