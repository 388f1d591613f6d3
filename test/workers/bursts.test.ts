import { FALLBACK_REPLY } from "../../src/turns";
import { type HubProcess, spawnHub, waitFor } from "../support/processes";
import { messageSid, postWebhook, whatsapp } from "../support/twilio";
import { startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// Bursts: a WhatsApp user who writes "hi", "I have a question", "about my order" gets one answer to all three,
// each message stored; a message written while the assistant answers goes into the next turn; the ask API
// answers each message alone. The window is the longest allowed, so the messages of a burst posted together
// fall in it however busy the machine.

const HUB_NUMBER = "+14155238886";
const BURSTS = { WHATSAPP_BURST_MS: "2000", WS_BURST_MS: "2000" };

describe("bursts of messages", () => {
  let setup: TwilioHub;
  beforeAll(async () => {
    // A model that is down gets no retries: its fallback goes at once, and a follow-up later.
    setup = await startTwilioHub("postgres", { ...BURSTS, OPENAI_MAX_RETRIES: "0", MODEL_RETRY_FOR_MS: "60000" });
  });
  afterAll(() => setup?.stop());

  const write = (user: string, body: string, sid = messageSid()) =>
    postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, body, { MessageSid: sid }));
  const sentTo = (user: string) => setup.twilio.sends.filter((s) => s.to === `whatsapp:${user}`).map((s) => s.body);
  const stored = (user: string) =>
    setup.hub.runtime.db.prisma.message.findMany({
      where: { conversation: { externalId: `whatsapp_${user}` } },
      orderBy: { seq: "asc" },
      select: { id: true, role: true, content: true, status: true, inReplyToId: true },
    });

  it("answers messages written together in one turn with one reply, every message stored and closed", async () => {
    const user = "+351911000201";
    const sids = [messageSid(), messageSid(), messageSid()];
    const posted = await Promise.all(["hi", "I have a question", "about my order"].map((body, i) => write(user, body, sids[i])));
    expect(posted.map((r) => r.status)).toEqual([200, 200, 200]);

    await waitFor(async () => (await stored(user)).some((m) => m.role === "assistant" && m.status !== "unsent"), 30_000, "the reply sent");
    const messages = await stored(user);
    const asked = messages.filter((m) => m.role === "user");
    expect(asked.map((m) => m.status)).toEqual(["answered", "answered", "answered"]);
    // One reply, to the last of the burst, saying what the model was asked: the three, in the order stored.
    const replies = messages.filter((m) => m.role === "assistant");
    expect(replies).toHaveLength(1);
    expect(replies[0].inReplyToId).toBe(asked[2].id);
    expect(replies[0].content).toBe(`Echo: ${asked.map((m) => m.content).join("\n")}`);
    expect(sentTo(user)).toEqual([replies[0].content]);

    // Twilio retrying a webhook of the burst changes nothing: no new message, no new turn, nothing sent.
    expect((await write(user, "hi", sids[0])).status).toBe(200);
    const requests = setup.openai.requests.length;
    expect(await stored(user)).toHaveLength(4);
    expect(setup.openai.requests.length).toBe(requests);
    expect(sentTo(user)).toHaveLength(1);
  });

  it("a message written while the assistant answers is answered in the next turn, not lost or answered twice", async () => {
    const user = "+351911000202";
    setup.openai.setDelay(1_500);
    try {
      const before = setup.openai.requests.length;
      expect((await write(user, "first question")).status).toBe(200);
      // The model has the first turn: its window is over.
      await waitFor(async () => setup.openai.requests.length > before, 30_000, "the model to be asked");
      const posted = await Promise.all(["second", "third"].map((body) => write(user, body)));
      expect(posted.map((r) => r.status)).toEqual([200, 200]);
      await waitFor(async () => sentTo(user).length === 2, 30_000, "two replies sent");
    } finally {
      setup.openai.setDelay(0);
    }
    const asked = (await stored(user)).filter((m) => m.role === "user");
    expect(sentTo(user)).toEqual(["Echo: first question", `Echo: ${asked[1].content}\n${asked[2].content}`]);
    expect(asked.map((m) => m.status)).toEqual(["answered", "answered", "answered"]);
  });

  it("a burst the model could not answer gets one fallback, then one follow-up for all of it", async () => {
    const user = "+351911000204";
    setup.openai.down(503);
    try {
      const posted = await Promise.all(["are you", "open today?"].map((body) => write(user, body)));
      expect(posted.map((r) => r.status)).toEqual([200, 200]);
      await waitFor(async () => sentTo(user).length === 1, 30_000, "the fallback sent");
      expect(sentTo(user)).toEqual([FALLBACK_REPLY]);
      // Only the last message waits for the follow-up: the earlier one is closed by the burst's turn.
      expect((await stored(user)).filter((m) => m.role === "user").map((m) => m.status)).toEqual(["answered", "retrying"]);
    } finally {
      setup.openai.up();
    }
    await waitFor(async () => sentTo(user).length === 2, 60_000, "the follow-up sent");
    const asked = (await stored(user)).filter((m) => m.role === "user");
    expect(sentTo(user)[1]).toBe(`Echo: ${asked[1].content}`);
    expect(asked.map((m) => m.status)).toEqual(["answered", "answered"]);
  });

  it("the ask API answers each message alone and at once", async () => {
    const ask = (content: string) =>
      setup.hub.api("/api/ai-hub/assistant/ask", {
        body: { message: { role: "user", content }, id: "burst-ask", assistantId: "default" },
      });
    const [a, b] = await Promise.all([ask("one"), ask("two")]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body.message.content, b.body.message.content].sort()).toEqual(["Echo: one", "Echo: two"]);
  });
});

// Fault drill: the worker is killed while the model answers a burst. Another worker takes the turn over once
// its lock expires: the burst is answered once, with all of its messages.
it("a worker killed while answering a burst: another answers it once, all of it", async () => {
  const setup = await startTwilioHub("postgres", { ...BURSTS, ROLE: "gateway", JOB_LOCK_MS: "2000" });
  const workers: HubProcess[] = [];
  const user = "+351911000203";
  try {
    const workerEnv = { ...setup.hub.env, ROLE: "worker" };
    setup.openai.hangNext(1);
    const posted = await Promise.all(
      ["is the shop", "open on sunday?"].map((body) =>
        postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, body)),
      ),
    );
    expect(posted.map((r) => r.status)).toEqual([200, 200]);
    // The worker starts once both are stored, however long that took: late, it still answers them as one.
    workers.push(await spawnHub(workerEnv));
    await waitFor(async () => setup.openai.requests.length === 1, 30_000, "the model to be asked about the burst");
    workers[0].proc.kill("SIGKILL");
    workers.push(await spawnHub(workerEnv));
    await waitFor(async () => setup.twilio.sends.length === 1, 60_000, "the burst's reply sent by the second worker");

    const prisma = setup.hub.runtime.db.prisma;
    const messages = await prisma.message.findMany({
      where: { conversation: { externalId: `whatsapp_${user}` } },
      orderBy: { seq: "asc" },
    });
    const asked = messages.filter((m) => m.role === "user");
    expect(asked.map((m) => m.status)).toEqual(["answered", "answered"]);
    expect(setup.openai.requests.map((r) => r.body.messages.at(-1)?.content)).toEqual(
      Array(2).fill(asked.map((m) => m.content).join("\n")),
    );
    expect(setup.twilio.sends.map((s) => s.body)).toEqual([`Echo: ${asked.map((m) => m.content).join("\n")}`]);
    expect(messages.filter((m) => m.role === "assistant")).toHaveLength(1);
  } finally {
    for (const w of workers) w.proc.kill("SIGKILL");
    await setup.stop();
  }
});

// The sweeper fails a pending message whose job completed without a reply. A burst's earlier message is such
// a message while the burst's last job answers it: a slow model must not earn the user a fallback reply too.
it("a burst answered slowly gets no fallback reply from the sweeper", async () => {
  const setup = await startTwilioHub("postgres", { ...BURSTS, SWEEP_INTERVAL_MS: "200", SWEEP_AFTER_MS: "500" });
  const user = "+351911000204";
  try {
    setup.openai.setDelay(3_000);
    const posted = await Promise.all(
      ["hello", "is the shop open?"].map((body) =>
        postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(user, HUB_NUMBER, body)),
      ),
    );
    expect(posted.map((r) => r.status)).toEqual([200, 200]);
    const prisma = setup.hub.runtime.db.prisma;
    const stored = () => prisma.message.findMany({ where: { conversation: { externalId: `whatsapp_${user}` } }, orderBy: { seq: "asc" } });
    await waitFor(
      async () => (await stored()).filter((m) => m.role === "user").every((m) => m.status !== "pending"),
      30_000,
      "the burst closed",
    );
    await waitFor(async () => setup.twilio.sends.length > 0, 30_000, "a reply sent");
    const messages = await stored();
    const asked = messages.filter((m) => m.role === "user");
    expect(asked.map((m) => m.status)).toEqual(["answered", "answered"]);
    expect(messages.filter((m) => m.role === "assistant").map((m) => m.content)).toEqual([
      `Echo: ${asked.map((m) => m.content).join("\n")}`,
    ]);
  } finally {
    await setup.stop();
  }
});
