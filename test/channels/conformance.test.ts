import { startFakeOpenAI } from "../fakes/openai-server";
import { startFakeTwilio } from "../fakes/twilio-server";
import { startTestHub } from "../support/hub";
import { clearOfMinuteBoundary, createTestOrg } from "../support/orgs";
import { waitFor } from "../support/processes";
import { twilioEnv } from "../support/twilio";
import {
  askDriver,
  type ChannelDriver,
  conversationServiceDriver,
  generalBotsDriver,
  type Setup,
  twilioDriver,
  twilioSid,
  webSocketDriver,
} from "./drivers";

// What every channel promises, proved the same way for each (bullmq's adapter-conformance suite is the model):
// a retried inbound message makes one turn, the reply comes back on the channel the message came in on, the
// org's rate limit holds, and another org cannot reach the conversation. A new channel adds its driver
// (drivers.ts) to CHANNELS.
//
// A business-side message that answers no turn (an operator's, issue #14, sent with the operator API's
// POST /api/inbox/:conversationId/messages) comes back on the channel too, with the operator's name where
// the channel has room for it. The ask API answers each call with its reply only: its integrator reads such
// a message in the conversation's history (the General Bots API's, by the same id).

const RATE = 4;

// Name, driver, and whether the channel shows who wrote a business-side message.
const CHANNELS: [string, (s: Setup) => ChannelDriver, boolean][] = [
  ["ask API", askDriver, true],
  ["General Bots API", generalBotsDriver, true],
  ["Conversation Service", conversationServiceDriver, true],
  ["WebSocket", webSocketDriver, true],
  ["Twilio webhook", twilioDriver, false],
];

const setup = {} as Setup;
const post = (key: string, path: string, body: unknown) =>
  fetch(setup.hub.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
let closeFakes: () => Promise<void>;

beforeAll(async () => {
  const [openai, twilio] = await Promise.all([startFakeOpenAI(), startFakeTwilio()]);
  setup.twilio = twilio;
  setup.hub = await startTestHub("postgres", {
    ASSISTANT_PROVIDER: "openai",
    OPENAI_BASE_URL: openai.url,
    RATE_LIMIT_PER_MINUTE: String(RATE),
    ...twilioEnv(twilio),
  });
  closeFakes = () => Promise.all([openai.close(), twilio.close()]).then(() => {});
}, 120_000);
afterAll(async () => {
  await setup.hub?.stop();
  await closeFakes?.();
});

describe.each(CHANNELS)("the %s channel", (name, driverOf, showsAuthor) => {
  const driver = () => driverOf(setup);
  const prisma = () => setup.hub.runtime.db.prisma;
  const messagesOf = async (conversationId: string, role: string) =>
    prisma().message.findMany({ where: { conversationId, role }, orderBy: { seq: "asc" } });

  it("makes one turn of a message sent twice with the same id, and brings its one reply back on the channel", async () => {
    const org = await createTestOrg(setup.hub, "conformance");
    const conversation = await driver().open(org);
    try {
      const id = twilioSid();
      await conversation.send(id, "hello twice");
      await conversation.received("Echo: hello twice");
      await conversation.send(id, "hello twice");
      const conversationId = await conversation.conversationId();
      // The retry was answered from what was stored: still one user message and one reply.
      expect((await messagesOf(conversationId, "user")).map((m) => m.content)).toEqual(["hello twice"]);
      expect((await messagesOf(conversationId, "assistant")).map((m) => m.content)).toEqual(["Echo: hello twice"]);
      if (name === "Twilio webhook") expect(setup.twilio.sends.filter((m) => m.body === "Echo: hello twice")).toHaveLength(1);
    } finally {
      await conversation.close();
    }
  });

  it("refuses, in its own terms, the message past the org's rate limit, and stores nothing of it", async () => {
    await clearOfMinuteBoundary();
    const org = await createTestOrg(setup.hub, "limited");
    const conversation = await driver().open(org);
    try {
      const outcomes: boolean[] = [];
      for (let i = 0; i <= RATE; i++) outcomes.push((await conversation.send(twilioSid(), `message ${i}`)).rateLimited);
      expect(outcomes).toEqual([...Array(RATE).fill(false), true]);
      const stored = await messagesOf(await conversation.conversationId(), "user");
      expect(stored.map((m) => m.content)).not.toContain(`message ${RATE}`);
    } finally {
      await conversation.close();
    }
  });

  it("keeps the conversation to its org: another org's key does not reach it", async () => {
    const org = await createTestOrg(setup.hub, "owner");
    const other = await createTestOrg(setup.hub, "intruder");
    const conversation = await driver().open(org);
    try {
      await conversation.send(twilioSid(), "mine only");
      await conversation.received("Echo: mine only");
      expect(await conversation.readableBy(other)).toBe(false);
      const stored = await prisma().conversation.findUniqueOrThrow({ where: { id: await conversation.conversationId() } });
      expect(stored.orgId).toBe(org.orgId);
    } finally {
      await conversation.close();
    }
  });

  it("brings an operator's message, which answers no turn, back on the channel, once", async () => {
    const org = await createTestOrg(setup.hub, "outbound");
    const conversation = await driver().open(org);
    try {
      await conversation.send(twilioSid(), "a person please");
      await conversation.received("Echo: a person please");
      const conversationId = await conversation.conversationId();
      const res = await post(org.key, `/api/inbox/${conversationId}/messages`, { content: "Ana here, from the team", author: "Ana" });
      expect(res.status).toBe(201);
      const sent = await res.json();
      expect(sent).toMatchObject({ conversationId, role: "assistant", author: { kind: "operator", name: "Ana" } });
      expect(await conversation.receivedOutbound("Ana here, from the team")).toEqual({
        content: "Ana here, from the team",
        author: showsAuthor ? "Ana" : undefined,
      });
      if (name === "Twilio webhook") {
        await waitFor(async () => (await prisma().message.findUniqueOrThrow({ where: { id: sent.id } })).status !== "unsent");
        expect(setup.twilio.sends.filter((m) => m.body === "Ana here, from the team")).toHaveLength(1);
      }
    } finally {
      await conversation.close();
    }
  });
});
