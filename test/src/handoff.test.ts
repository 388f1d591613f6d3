import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "pg";
import { RETRYING, storeFollowUp } from "../../src/conversations";
import { asksForPerson } from "../../src/handoff";
import { accept } from "../../src/hub";
import { startAskWorker } from "../../workers/ask";
import { sweepOnce } from "../../workers/sweeper";
import { DB_KINDS } from "../support/databases";
import { startTestHub, type TestHub } from "../support/hub";
import { waitFor } from "../support/processes";

const ASK = "/api/ai-hub/assistant/ask";
const HANDOFF_MESSAGE = "A person from our team will answer you here.";

/** A user message in the conversation, accepted as the ask API would. */
const hello = (hub: TestHub, conversationKey: string) =>
  accept(hub.runtime.hub, {
    orgId: hub.orgId,
    channel: "api",
    conversationKey,
    assistant: { ref: "default" },
    role: "user",
    content: "hello",
  });

/**
 * Makes Postgres refuse to store a message of this content until the returned function is called: a write that
 * fails at that line, as when the process dies there.
 */
async function refuseMessages(admin: Client, content: string): Promise<() => Promise<unknown>> {
  await admin.query(`CREATE FUNCTION refuse_message() RETURNS trigger AS $$ BEGIN
      IF NEW.content = '${content}' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
  await admin.query("CREATE TRIGGER refuse_message BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_message()");
  return () => admin.query("DROP TRIGGER refuse_message ON messages");
}

describe("asking for a person", () => {
  it("is recognised in English, Portuguese, Spanish, German and French, whatever the case, accents and punctuation", () => {
    for (const said of [
      "Can I TALK to a human, please?!",
      "Quero falar com alguém",
      "quero FALAR com um atendente...",
      "¿Puedo hablar con una persona?",
      "Ich möchte mit einem Menschen sprechen.",
      "Je voudrais parler à un conseiller",
      "Puis-je parler à quelqu'un ?",
    ]) {
      expect([said, asksForPerson(said, [])]).toEqual([said, true]);
    }
  });

  it("is not seen in words that merely contain a phrase, and an assistant's own phrases replace the defaults", () => {
    expect(asksForPerson("What does the human body need?", [])).toBe(false);
    expect(asksForPerson("I want to talk to a humanoid robot", [])).toBe(false);
    expect(asksForPerson("Quiero hablar con SOPORTE!", ["hablar con soporte"])).toBe(true);
    expect(asksForPerson("talk to a human", ["hablar con soporte"])).toBe(false);
  });
});

describe.each(DB_KINDS)("handoff to a person (%s)", (kind) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub(kind, { HANDOFF_MESSAGE, HANDOFF_AFTER_MISSES: "2", RATE_LIMIT_PER_MINUTE: "1000" });
  });
  afterAll(() => hub?.stop());

  const ask = (conversation: string, content: string) =>
    hub.api(ASK, { body: { message: { role: "user", content }, id: conversation, assistantId: "default" } });
  const inbox = (id: string, action: string, body: object = {}) => hub.api(`/api/inbox/${encodeURIComponent(id)}/${action}`, { body });
  const stored = (externalId: string) =>
    hub.runtime.db.prisma.message.findMany({
      where: { conversation: { orgId: hub.orgId, externalId } },
      orderBy: { seq: "asc" },
      select: { role: true, content: true, status: true, inReplyToId: true },
    });

  it("the user asks for a person: handoff message, waiting, messages held and shown; takeover, release, answered again", async () => {
    const id = `${kind}-asks`;
    const first = await ask(id, "Can I talk to a human, please?");
    expect(first.status).toBe(200);
    expect(first.body.message.content).toBe(HANDOFF_MESSAGE);

    const waiting = await hub.api("/api/inbox?state=waiting");
    const row = waiting.body.conversations.find((c: { externalId: string }) => c.externalId === id);
    expect(row).toMatchObject({ state: "waiting", assignee: null, reason: "the user asked for a person", channel: "api" });
    expect(row.summary).toContain("Can I talk to a human");
    expect(Date.parse(row.waitingSince)).not.toBeNaN();
    expect(row.lastMessage).toMatchObject({ role: "assistant", content: HANDOFF_MESSAGE });

    // While waiting, and once taken, the assistant does not answer; the message is stored and shown.
    const held = await ask(id, "Hello? Is anyone there?");
    expect(held.status).toBe(202);
    expect(held.body).toMatchObject({ status: "held", message: null });
    const taken = await inbox(id, "takeover", { operator: "ana" });
    expect(taken.body).toMatchObject({ state: "human", assignee: "ana", waitingSince: row.waitingSince });
    expect((await inbox(id, "takeover", { operator: "bruno" })).status).toBe(409);
    expect((await inbox(id, "takeover", { operator: "ana" })).status).toBe(200);
    expect((await ask(id, "My order is 1234")).body.status).toBe("held");
    const history = await hub.api(`/api/conversations/${id}/history`);
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual([
      "Can I talk to a human, please?",
      HANDOFF_MESSAGE,
      "Hello? Is anyone there?",
      "My order is 1234",
    ]);

    const released = await inbox(id, "release");
    expect(released.body).toMatchObject({ state: "bot", assignee: null, waitingSince: null });
    expect((await inbox(id, "release")).status).toBe(409);
    const again = await ask(id, "What are your opening hours?");
    expect(again.status).toBe(200);
    expect(again.body.message.content).not.toBe(HANDOFF_MESSAGE);
    // Held messages stay held: answered neither by the assistant then nor later.
    const messages = await stored(id);
    expect(messages.filter((m) => m.status === "held").map((m) => m.content)).toEqual(["Hello? Is anyone there?", "My order is 1234"]);
    expect(messages.filter((m) => m.role === "assistant")).toHaveLength(2);
  });

  it("the knowledge assistant finds nothing relevant N times in a row: handoff; an answer with knowledge resets the count", async () => {
    const id = `${kind}-misses`;
    const miss = await ask(id, "zyxwv qwertz");
    expect(miss.body.message.content).toContain("Nothing in");
    const second = await ask(id, "plokm nbvcx");
    expect(second.body.message.content).toBe(HANDOFF_MESSAGE);
    const c = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { orgId: hub.orgId, externalId: id } });
    expect(c).toMatchObject({ handoffState: "waiting", handoffReason: "no relevant knowledge 2 times in a row" });
  });

  it("an assistant's own phrases, message and miss limit (set through the management API) replace the hub's", async () => {
    const created = await hub.api("/api/assistants", {
      body: { name: "custom", handoffPhrases: ["Quero o suporte"], handoffMessage: "Um momento, por favor.", handoffAfterMisses: 0 },
    });
    expect(created.body).toMatchObject({
      handoffPhrases: ["Quero o suporte"],
      handoffMessage: "Um momento, por favor.",
      handoffAfterMisses: 0,
    });
    const say = (content: string) =>
      hub.api(ASK, { body: { message: { role: "user", content }, id: `${kind}-custom`, assistantId: "custom" } });
    // No miss limit: nothing found three times is no handoff; the hub's phrases are not this assistant's.
    for (const content of ["zyxwv", "plokm", "talk to a human"]) expect((await say(content)).body.message.content).toContain("Nothing in");
    expect((await say("QUERO O SUPORTE!!")).body.message.content).toBe("Um momento, por favor.");
  });

  it("an integrator asks through the API: waiting with its reason, the user is told, a second request is 409", async () => {
    const id = `${kind}-api`;
    await ask(id, "I have a question");
    const res = await inbox(id, "handoff", { reason: "VIP customer" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: "waiting", reason: "VIP customer", externalId: id });
    expect(res.body.summary).toContain("I have a question");
    expect((await inbox(id, "handoff", {})).status).toBe(409);
    expect((await ask(id, "still there?")).body.status).toBe("held");
    const messages = await stored(id);
    expect(messages.at(-2)).toMatchObject({ role: "assistant", content: HANDOFF_MESSAGE, inReplyToId: null });
  });

  it("refuses what it cannot do in the management API's shape", async () => {
    expect((await inbox("no-such-conversation", "takeover")).body).toEqual({ error: "not_found", message: "Conversation not found" });
    await ask(`${kind}-bad`, "hi");
    const bad = await inbox(`${kind}-bad`, "handoff", { reason: "" });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: "invalid_message", issues: [{ field: "reason" }] });
    expect((await hub.api("/api/inbox?state=sleeping")).status).toBe(400);
    const page = await hub.api("/api/inbox?state=all&limit=1&offset=1");
    expect(page.body).toMatchObject({ limit: 1, offset: 1, total: expect.any(Number) });
    expect(page.body.conversations).toHaveLength(1);
  });
});

describe.each(DB_KINDS)("turns queued before a handoff (%s)", (kind) => {
  let hub: TestHub;
  beforeAll(async () => {
    // No worker yet: jobs wait in the queue until the test starts one.
    hub = await startTestHub(kind, { ROLE: "gateway", HANDOFF_MESSAGE, RATE_LIMIT_PER_MINUTE: "1000" });
  });
  afterAll(() => hub?.stop());

  const send = (conversationKey: string, content: string) =>
    accept(hub.runtime.hub, { orgId: hub.orgId, channel: "api", conversationKey, assistant: { ref: "default" }, role: "user", content });
  const worker = () =>
    startAskWorker(hub.runtime.turns, { connection: hub.runtime.connect(), prefix: hub.env.QUEUE_PREFIX, concurrency: 5, lockMs: 5000 });
  const settled = (conversationKey: string, n: number) =>
    waitFor(async () => {
      const rows = await hub.runtime.db.prisma.message.findMany({
        where: { conversation: { externalId: conversationKey }, role: "user" },
        orderBy: { seq: "asc" },
      });
      return rows.length === n && rows.every((m) => m.status !== "pending") && rows;
    });

  it("a message accepted in bot whose job runs after a takeover is held, not answered, and not queued again", async () => {
    const id = `${kind}-late`;
    const { message } = await send(id, "What is the price?");
    expect(message.status).toBe("pending");
    expect((await hub.api(`/api/inbox/${id}/takeover`, { body: {} })).body.state).toBe("human");
    const w = worker();
    try {
      const [turn] = await settled(id, 1);
      expect(turn.status).toBe("held");
      expect(await hub.runtime.db.prisma.message.count({ where: { inReplyToId: message.id } })).toBe(0);
      // The sweeper looks for pending messages only: a held one is never queued again, nor ended with a fallback.
      await sweepOnce(hub.runtime.db.prisma, hub.runtime.askQueue, hub.runtime.turns, 0);
      expect(await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id: message.id } })).toMatchObject({ status: "held" });
      expect(await hub.runtime.db.prisma.message.count({ where: { inReplyToId: message.id } })).toBe(0);
    } finally {
      await w.close();
    }
  });

  it("a burst answered in one job: messages after the one asking for a person are held", async () => {
    const id = `${kind}-burst`;
    await send(id, "hello");
    const asking = await send(id, "I want to speak to a person");
    await send(id, "are you there?");
    const w = worker();
    try {
      const rows = await settled(id, 3);
      expect(rows.map((m) => m.status)).toEqual(["answered", "answered", "held"]);
      const reply = await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { inReplyToId: asking.message.id } });
      expect(reply.content).toBe(HANDOFF_MESSAGE);
      const c = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: id } });
      expect(c.handoffState).toBe("waiting");
    } finally {
      await w.close();
    }
  });
});

describe("the OpenAI provider's handoff tool, and the model's summary", () => {
  it.each([true, false])(
    "the model calls handoff (stream %s): the user is told, the reason and the model's summary are stored",
    async (stream) => {
      const { startFakeOpenAI } = await import("../fakes/openai-server");
      const fake = await startFakeOpenAI();
      const hub = await startTestHub("postgres", {
        ASSISTANT_PROVIDER: "openai",
        OPENAI_BASE_URL: fake.url,
        OPENAI_STREAM: String(stream),
        HANDOFF_MESSAGE,
      });
      try {
        fake.setToolCall((body) =>
          body.tools && body.messages.at(-1)?.content.includes("refund")
            ? { name: "handoff", arguments: '{"reason":"refund dispute"}' }
            : null,
        );
        fake.setReply((body) => (body.tools ? "Sure, here you are." : "SUMMARY: the user wants a refund"));
        const ask = (content: string) =>
          hub.api(ASK, { body: { message: { role: "user", content }, id: "conv-tool", assistantId: "default" } });
        expect((await ask("hello")).body.message.content).toBe("Sure, here you are.");
        expect(fake.requests[0].body.tools).toEqual([
          expect.objectContaining({ type: "function", function: expect.objectContaining({ name: "handoff" }) }),
        ]);
        expect((await ask("I want a refund now")).body.message.content).toBe(HANDOFF_MESSAGE);
        const c = await waitFor(async () => {
          const row = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: "conv-tool" } });
          return row.handoffSummary?.startsWith("SUMMARY") && row;
        });
        expect(c).toMatchObject({
          handoffState: "waiting",
          handoffReason: "refund dispute",
          handoffSummary: "SUMMARY: the user wants a refund",
        });
      } finally {
        await hub.stop();
        await fake.close();
      }
    },
  );
});

describe("an operator takes over while the assistant is writing", () => {
  it("the reply written meanwhile is not stored or sent: the turn is held", async () => {
    const { startFakeOpenAI } = await import("../fakes/openai-server");
    const fake = await startFakeOpenAI();
    const hub = await startTestHub("postgres", { ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: fake.url });
    try {
      fake.setDelay(1000);
      const { message } = await accept(hub.runtime.hub, {
        orgId: hub.orgId,
        channel: "api",
        conversationKey: "conv-race",
        assistant: { ref: "default" },
        role: "user",
        content: "What is the price?",
      });
      await waitFor(() => fake.requests.length === 1);
      expect((await hub.api("/api/inbox/conv-race/takeover", { body: { operator: "ana" } })).body.state).toBe("human");
      const turn = await waitFor(async () => {
        const row = await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id: message.id } });
        return row.status !== "pending" && row;
      }, 10_000);
      expect(turn.status).toBe("held");
      expect(fake.requests[0].answeredAt).toBeDefined();
      expect(await hub.runtime.db.prisma.message.count({ where: { conversationId: turn.conversationId, role: "assistant" } })).toBe(0);
    } finally {
      await hub.stop();
      await fake.close();
    }
  });

  it("a client waiting for the reply is told at once that the message is held, not left waiting until the timeout", async () => {
    const { startFakeOpenAI } = await import("../fakes/openai-server");
    const fake = await startFakeOpenAI();
    const hub = await startTestHub("postgres", { ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: fake.url, ASK_TIMEOUT_MS: "8000" });
    try {
      fake.setDelay(1000);
      const asked = hub.api(ASK, {
        body: { message: { role: "user", content: "What is the price?" }, id: "conv-wait", assistantId: "default" },
      });
      await waitFor(() => fake.requests.length === 1);
      expect((await hub.api("/api/inbox/conv-wait/takeover", { body: { operator: "ana" } })).body.state).toBe("human");
      const answer = await asked;
      expect(answer.status).toBe(202);
      expect(answer.body).toMatchObject({ success: true, message: null, status: "held" });
    } finally {
      await hub.stop();
      await fake.close();
    }
  });
});

describe("an operator takes over while the reply is being stored", () => {
  let hub: TestHub;
  let operator: Client;
  beforeAll(async () => {
    hub = await startTestHub("postgres", { ROLE: "gateway" });
    operator = new Client({ connectionString: hub.env.DATABASE_URL });
    await operator.connect();
  });
  afterAll(async () => {
    await operator?.end();
    await hub?.stop();
  });

  /** Runs `store` while the takeover's transaction has the conversation's row, and commits the takeover once it waits. */
  async function duringTakeover<T>(conversationId: string, store: () => Promise<T>): Promise<T> {
    await operator.query("BEGIN");
    await operator.query("UPDATE conversations SET handoff_state = 'human', handoff_assignee = 'ana' WHERE id = $1", [conversationId]);
    const storing = store();
    await waitFor(async () => {
      const { rows } = await operator.query(
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
      );
      return rows.length > 0;
    });
    await operator.query("COMMIT");
    return storing;
  }
  const reply = { content: "the price is 10", tokensUsed: 1, sources: [] };

  it("a takeover that commits before the reply's statement does holds the turn: no reply after the operator has it", async () => {
    const { message: turn, conversationId } = await hello(hub, "conv-commit-race");
    const stored = await duringTakeover(conversationId, () => hub.runtime.turns.replies.submit({ turn, reply }));
    expect(stored.message).toBeNull();
    expect(await hub.runtime.db.prisma.message.count({ where: { inReplyToId: turn.id } })).toBe(0);
    expect((await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id: turn.id } })).status).toBe("held");
  });

  it("nor is a follow-up stored after the operator has the conversation", async () => {
    const { message, conversationId } = await hello(hub, "conv-follow-up-race");
    const turn = await hub.runtime.db.prisma.message.update({ where: { id: message.id }, data: { status: RETRYING } });
    const stored = await duringTakeover(conversationId, () => storeFollowUp(hub.runtime.db.prisma, turn, reply));
    expect(stored).toBeNull();
    expect(await hub.runtime.db.prisma.message.count({ where: { followUpOfId: turn.id } })).toBe(0);
  });
});

describe("an API handoff whose message cannot be stored", () => {
  it("leaves the conversation with the assistant, so that asking again hands it off and tells the user", async () => {
    const hub = await startTestHub("postgres", { ROLE: "gateway", HANDOFF_MESSAGE: "REFUSED" });
    const admin = new Client({ connectionString: hub.env.DATABASE_URL });
    await admin.connect();
    try {
      await hello(hub, "conv-api-refused");
      // Postgres refuses the handoff message once: as if the process died between the state change and the message.
      const allow = await refuseMessages(admin, "REFUSED");
      const handoff = () => hub.api("/api/inbox/conv-api-refused/handoff", { body: { reason: "VIP" } });
      expect((await handoff()).status).toBe(500);
      await allow();
      const again = await handoff();
      expect(again.status).toBe(200);
      expect(again.body.state).toBe("waiting");
      const told = await hub.runtime.db.prisma.message.findMany({
        where: { conversation: { externalId: "conv-api-refused" }, role: "assistant", content: "REFUSED" },
      });
      expect(told).toHaveLength(1);
    } finally {
      await admin.end();
      await hub.stop();
    }
  });
});

describe("waiting too long, and the handoff webhook", () => {
  let receiver: Server;
  let url: string;
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let failures = 1;
  beforeAll(async () => {
    receiver = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      received.push({ headers: req.headers, body });
      res.writeHead(failures-- > 0 ? 500 : 204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });
  afterAll(() => new Promise((resolve) => receiver.close(resolve)));

  it("a timeout message that cannot be stored is sent by a later sweep: the wait is not counted over without it", async () => {
    const hub = await startTestHub("postgres", { ROLE: "gateway", HANDOFF_TIMEOUT_MS: "1", HANDOFF_TIMEOUT_MESSAGE: "REFUSED" });
    const admin = new Client({ connectionString: hub.env.DATABASE_URL });
    await admin.connect();
    try {
      const prisma = hub.runtime.db.prisma;
      await hello(hub, "conv-timeout-refused");
      expect((await hub.api("/api/inbox/conv-timeout-refused/handoff", { body: {} })).body.state).toBe("waiting");
      // Postgres refuses the timeout message once: as if the process died between the claim and the message.
      const allow = await refuseMessages(admin, "REFUSED");
      await sweepOnce(prisma, hub.runtime.askQueue, hub.runtime.turns, 0).catch(() => {});
      await allow();
      await sweepOnce(prisma, hub.runtime.askQueue, hub.runtime.turns, 0);
      const c = await prisma.conversation.findFirstOrThrow({ where: { externalId: "conv-timeout-refused" } });
      expect(await prisma.message.count({ where: { conversationId: c.id, content: "REFUSED" } })).toBe(1);
      // HANDOFF_TIMEOUT_RELEASE's default: back to the assistant, with the user told.
      expect(c.handoffState).toBe("bot");
    } finally {
      await admin.end();
      await hub.stop();
    }
  });

  it("without release, the timeout message is sent once and the conversation keeps waiting", async () => {
    const hub = await startTestHub("postgres", {
      HANDOFF_TIMEOUT_MS: "200",
      HANDOFF_TIMEOUT_MESSAGE: "Still looking for someone.",
      HANDOFF_TIMEOUT_RELEASE: "false",
      SWEEP_INTERVAL_MS: "100",
    });
    try {
      await hub.api(ASK, { body: { message: { role: "user", content: "talk to a human" }, id: "conv-wait", assistantId: "default" } });
      const prisma = hub.runtime.db.prisma;
      const c = await waitFor(async () => {
        const row = await prisma.conversation.findFirstOrThrow({ where: { externalId: "conv-wait" } });
        return row.handoffExpiredAt && row;
      }, 10_000);
      expect(c.handoffState).toBe("waiting");
      // Further sweeps send nothing more.
      await sweepOnce(prisma, hub.runtime.askQueue, hub.runtime.turns, 0);
      await sweepOnce(prisma, hub.runtime.askQueue, hub.runtime.turns, 0);
      expect(await prisma.message.count({ where: { conversationId: c.id, content: "Still looking for someone." } })).toBe(1);
      // Taken after all: the operator has it, and the wait is over.
      expect((await hub.api("/api/inbox/conv-wait/takeover", { body: {} })).body.state).toBe("human");
    } finally {
      await hub.stop();
    }
  });

  it("a waiting conversation nobody takes gets the timeout message and goes back to the assistant; events are signed and retried", async () => {
    const secret = "a-webhook-secret-of-16+";
    const hub = await startTestHub("postgres", {
      HANDOFF_TIMEOUT_MS: "300",
      HANDOFF_TIMEOUT_MESSAGE: "Nobody is free right now.",
      HANDOFF_TIMEOUT_RELEASE: "true",
      SWEEP_INTERVAL_MS: "100",
      HANDOFF_WEBHOOK_URL: url,
      HANDOFF_WEBHOOK_SECRET: secret,
    });
    try {
      const res = await hub.api(ASK, {
        body: { message: { role: "user", content: "talk to a human" }, id: "conv-late", assistantId: "default" },
      });
      expect(res.status).toBe(200);
      const c = await waitFor(async () => {
        const row = await hub.runtime.db.prisma.conversation.findFirstOrThrow({ where: { externalId: "conv-late" } });
        return row.handoffState === "bot" && row;
      }, 10_000);
      const last = await hub.runtime.db.prisma.message.findFirstOrThrow({ where: { conversationId: c.id }, orderBy: { seq: "desc" } });
      expect(last).toMatchObject({ role: "assistant", content: "Nobody is free right now." });

      // The first delivery failed (500): it came again, with the same id and body; each event was taken once.
      const failed = received[0];
      const events = await waitFor(() => {
        const ok = received.slice(1);
        const types = new Set(ok.map((r) => JSON.parse(r.body).type));
        return types.has("handoff.requested") && types.has("handoff.timed_out") && ok;
      }, 15_000);
      const retry = events.find((r) => r.headers["x-hub-delivery"] === failed.headers["x-hub-delivery"]);
      expect(retry?.body).toBe(failed.body);
      for (const r of received) {
        const expected = `sha256=${createHmac("sha256", secret).update(r.body).digest("hex")}`;
        expect(r.headers["x-hub-signature-256"]).toBe(expected);
      }
      expect(events.map((r) => JSON.parse(r.body).type).sort()).toEqual(["handoff.requested", "handoff.timed_out"]);
      const requested = JSON.parse(events.find((r) => JSON.parse(r.body).type === "handoff.requested")?.body ?? "{}");
      expect(requested).toMatchObject({ conversationId: c.id, externalId: "conv-late", state: "waiting", orgId: hub.orgId });
    } finally {
      await hub.stop();
    }
  });
});
