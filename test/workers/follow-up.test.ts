import { FOLLOW_UP, followUpJobId } from "../../src/queue";
import { FALLBACK_REPLY } from "../../src/turns";
import type { TurnEvent } from "../../src/types";
import { DB_KINDS } from "../support/databases";
import { waitFor } from "../support/processes";
import { postWebhook, whatsapp } from "../support/twilio";
import { startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// A short model outage: the user gets the fallback reply at once, then, once the model answers again and if
// they have not written since, one real answer as a follow-up, through the channel they wrote on.

const HUB_NUMBER = "+14155238886";

describe.each(DB_KINDS)("follow-ups after the model was unreachable (%s)", (kind) => {
  let setup: TwilioHub;
  let n = 0;
  const newUser = () => `+1777${kind === "postgres" ? 1 : 2}${String(++n).padStart(6, "0")}`;
  beforeAll(async () => {
    setup = await startTwilioHub(kind, {
      OPENAI_MAX_RETRIES: "0",
      MODEL_RETRY_FOR_MS: "60000",
      SWEEP_INTERVAL_MS: "300",
      SWEEP_AFTER_MS: "1000",
    });
  });
  afterAll(() => setup?.stop());
  afterEach(() => setup.openai.up());

  const prisma = () => setup.hub.runtime.db.prisma;
  const askQueue = () => setup.hub.runtime.askQueue;
  const ask = (user: string, text: string) =>
    postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, text));
  const sendsTo = (user: string) => setup.twilio.sends.filter((s) => s.to === `whatsapp:${user}`).map((s) => s.body);
  const turnsOf = (user: string) =>
    prisma().message.findMany({ where: { role: "user", conversation: { externalId: `whatsapp_${user}` } }, orderBy: { seq: "asc" } });
  const followUpsOf = (user: string) =>
    prisma().message.findMany({ where: { followUpOfId: { not: null }, conversation: { externalId: `whatsapp_${user}` } } });

  it("sends the fallback at once, then exactly one real answer once the model is back", async () => {
    const user = newUser();
    setup.openai.down(503);
    await ask(user, "are you there?");
    await waitFor(() => sendsTo(user).length === 1, 20_000, "the fallback sent");
    expect(sendsTo(user)).toEqual([FALLBACK_REPLY]);
    const [turn] = await turnsOf(user);
    expect(turn.status).toBe("retrying");
    const events: TurnEvent[] = [];
    const stop = setup.hub.runtime.bus.on(turn.conversationId, (e) => events.push(e));

    // Its follow-up job lost, as when Redis restarts empty: the sweeper finds the turn retrying.
    await waitFor(async () => (await askQueue().remove(followUpJobId(turn.id))) === 1, 20_000, "the follow-up job removed");
    await waitFor(async () => (await askQueue().getJobState(followUpJobId(turn.id))) !== "unknown", 20_000, "the sweeper");
    setup.openai.up();

    await waitFor(() => sendsTo(user).length === 2, 30_000, "the follow-up sent");
    expect(sendsTo(user)).toEqual([FALLBACK_REPLY, "Echo: are you there?"]);
    const [followUp] = await followUpsOf(user);
    expect(followUp).toMatchObject({ role: "assistant", content: "Echo: are you there?", followUpOfId: turn.id, inReplyToId: null });
    expect((await turnsOf(user))[0].status).toBe("answered");
    await waitFor(() => events.some((e) => e.type === "reply" && e.message.id === followUp.id), 5000, "the follow-up on the bus");
    stop();

    // Its job run again (a retry, a duplicate): nothing more is stored or sent.
    await askQueue().remove(followUpJobId(turn.id));
    await askQueue().add(FOLLOW_UP, { messageId: turn.id, conversationId: turn.conversationId }, { jobId: followUpJobId(turn.id) });
    await waitFor(async () => (await askQueue().getJobState(followUpJobId(turn.id))) === "completed", 20_000, "the job run again");
    expect(await followUpsOf(user)).toHaveLength(1);
    await waitFor(async () => (await prisma().message.findUniqueOrThrow({ where: { id: followUp.id } })).status === "queued");
    expect(sendsTo(user)).toHaveLength(2);
  });

  it("sends no follow-up for a message the user wrote again after", async () => {
    const user = newUser();
    setup.openai.down(503);
    await ask(user, "first?");
    await waitFor(() => sendsTo(user).length === 1, 20_000, "the first fallback");
    await ask(user, "second?");
    await waitFor(() => sendsTo(user).length === 2, 20_000, "the second fallback");
    setup.openai.up();

    await waitFor(async () => (await turnsOf(user)).every((t) => t.status !== "retrying"), 30_000, "both turns settled");
    expect((await turnsOf(user)).map((t) => t.status)).toEqual(["failed", "answered"]);
    await waitFor(() => sendsTo(user).length === 3, 20_000, "the second one's follow-up");
    expect(sendsTo(user)).toEqual([FALLBACK_REPLY, FALLBACK_REPLY, "Echo: second?"]);
    expect(await followUpsOf(user)).toHaveLength(1);
  });

  it("sends no follow-up when the model refused the request rather than being unreachable", async () => {
    const user = newUser();
    setup.openai.failNext(1, 404);
    await ask(user, "which model?");
    await waitFor(() => sendsTo(user).length === 1, 20_000, "the fallback");
    const [turn] = await turnsOf(user);
    expect(turn.status).toBe("failed");
    expect(await askQueue().getJobState(followUpJobId(turn.id))).toBe("unknown");
  });
});
