import { randomUUID } from "node:crypto";
import { type FakeOpenAI, startFakeOpenAI } from "../../fakes/openai-server";
import { startTestHub, type TestHub } from "../../support/hub";
import { createTestOrg, type TestOrg } from "../../support/orgs";
import { type HubProcess, spawnHub } from "../../support/processes";
import { connect, connectTo, type Frame, isType, type TestSocket } from "./client";

// /ws/operators (issue #14): an org's operators follow all its conversations live (messages of the user, the
// assistant and operators; typing; state changes), on any gateway, and nothing of another org's.

const PATH = "/ws/operators";

describe("the operators' socket", () => {
  let hub: TestHub;
  let openai: FakeOpenAI;
  let org: TestOrg;
  let other: TestOrg;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    openai = await startFakeOpenAI();
    hub = await startTestHub("postgres", { ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: openai.url });
    [org, other] = await Promise.all([createTestOrg(hub, "shop"), createTestOrg(hub, "elsewhere")]);
  }, 120_000);
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await hub?.stop();
    await openai?.close();
  });

  const track = (socket: TestSocket) => {
    sockets.push(socket);
    return socket;
  };
  /** An operator's socket of the org, connected. */
  async function operator(as: TestOrg, url = hub.url) {
    const socket = track(await connectTo(url, PATH, {}, { headers: { authorization: `Bearer ${as.key}` } }));
    expect(await socket.next(isType("status"))).toEqual({ type: "status", status: "connected", orgId: as.orgId });
    return socket;
  }
  /** A user of the org on the widget's socket (as the org's server opens it), connected. */
  async function visitor(as: TestOrg) {
    const socket = track(await connect(hub.url, { user_id: `user-${randomUUID()}` }, { headers: { authorization: `Bearer ${as.key}` } }));
    const status = await socket.next(isType("status"));
    return { socket, conversationId: status.conversation_id as string, sessionId: status.session_id as string };
  }
  const postOperatorMessage = (as: TestOrg, conversationId: string, content: string, author?: string) =>
    as.api(`/api/inbox/${conversationId}/messages`, { body: { content, author } });
  const messageOf = (conversationId: string, content: string) => (f: Frame) =>
    f.type === "message" && f.conversationId === conversationId && f.message.content === content;

  it("streams the user's message, the assistant's typing and reply, and an operator's message with its author", async () => {
    const desk = await operator(org);
    const user = await visitor(org);
    user.socket.send({ type: "message", content: "where is my order?" });

    const asked = await desk.next(messageOf(user.conversationId, "where is my order?"));
    expect(asked.message).toEqual({
      id: expect.any(String),
      role: "user",
      content: "where is my order?",
      createdAt: expect.any(String),
      inReplyToId: null,
    });
    expect(await desk.next(isType("typing"))).toEqual({
      type: "typing",
      conversationId: user.conversationId,
      author: { kind: "assistant" },
    });
    const reply = await desk.next(messageOf(user.conversationId, "Echo: where is my order?"));
    expect(reply.message).toMatchObject({ role: "assistant", inReplyToId: asked.message.id });
    expect(reply.message).not.toHaveProperty("author");

    const sent = await postOperatorMessage(org, user.conversationId, "Ana here: it left today", "Ana");
    const fromOperator = await desk.next(messageOf(user.conversationId, "Ana here: it left today"));
    expect(fromOperator.message).toEqual({
      id: sent.body.id,
      role: "assistant",
      content: "Ana here: it left today",
      createdAt: sent.body.createdAt,
      inReplyToId: null,
      author: { kind: "operator", name: "Ana" },
    });
  });

  it("passes an operator's typing to the user's widget and to the org's other operators", async () => {
    const [ana, ben] = [await operator(org), await operator(org)];
    const user = await visitor(org);
    const conversation = await hub.runtime.db.prisma.conversation.findUniqueOrThrow({ where: { id: user.conversationId } });

    // Named by the id the channel knows the conversation by, as the operator API allows.
    ana.send({ type: "typing", conversationId: conversation.externalId, author: "Ana" });
    expect(await user.socket.next(isType("typing"))).toEqual({
      type: "typing",
      sender: "bot",
      reply_to: null,
      author: { kind: "operator", name: "Ana" },
    });
    expect(await ben.next(isType("typing"))).toEqual({
      type: "typing",
      conversationId: user.conversationId,
      author: { kind: "operator", name: "Ana" },
    });
  });

  it("brings the conversation's state changes as operators hand it over, take it and release it", async () => {
    const desk = await operator(org);
    const user = await visitor(org);
    const post = (action: string, body: object) =>
      fetch(`${hub.url}/api/inbox/${user.conversationId}/${action}`, {
        method: "POST",
        headers: { authorization: `Bearer ${org.key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await post("handoff", { reason: "asked on the phone" })).status).toBe(200);
    expect(await desk.next(isType("state"))).toEqual({
      type: "state",
      conversationId: user.conversationId,
      state: "waiting",
      assignee: null,
      reason: "asked on the phone",
      at: expect.any(String),
    });
    expect((await post("takeover", { operator: "Ana" })).status).toBe(200);
    expect(await desk.next(isType("state"))).toMatchObject({ conversationId: user.conversationId, state: "human", assignee: "Ana" });
    expect((await post("release", {})).status).toBe(200);
    expect(await desk.next(isType("state"))).toMatchObject({ conversationId: user.conversationId, state: "bot" });
  });

  it("shows another org's operators nothing of the org's conversations, and lets them type in none", async () => {
    const intruder = await operator(other);
    const user = await visitor(org);
    user.socket.send({ type: "message", content: "private question" });
    await user.socket.next((f) => f.type === "message" && f.content === "Echo: private question");
    await postOperatorMessage(org, user.conversationId, "private answer");
    await user.socket.next((f) => f.type === "message" && f.content === "private answer");

    intruder.send({ type: "typing", conversationId: user.conversationId });
    expect(await intruder.next(isType("error"))).toEqual({ type: "error", error: "not_found", message: "Conversation not found" });
    // Its own org's events still come: once this one has, the others would have come before it.
    const own = await visitor(other);
    await postOperatorMessage(other, own.conversationId, "our own");
    await intruder.next(messageOf(own.conversationId, "our own"));
    expect(intruder.frames.filter((f) => f.conversationId === user.conversationId)).toEqual([]);
    expect(user.socket.frames.filter(isType("typing")).filter((f) => f.author)).toEqual([]);
  });

  it("takes the key from a browser as a subprotocol, and never answers with it", async () => {
    const socket = track(await connectTo(hub.url, PATH, {}, {}, ["hub.operators", `bearer.${org.key}`]));
    expect(socket.ws.protocol).toBe("hub.operators");
    expect(await socket.next(isType("status"))).toMatchObject({ status: "connected", orgId: org.orgId });
  });

  it.each([
    ["no key", {}],
    ["a wrong key", { headers: { authorization: "Bearer hub_not_a_key" } }],
  ])("with %s sends an error and closes with 4401", async (_what, options) => {
    const socket = track(await connectTo(hub.url, PATH, {}, options));
    expect(await socket.next()).toEqual({ type: "error", error: "unauthorized", message: "Invalid or missing API key or console session" });
    expect((await socket.closed).code).toBe(4401);
  });

  it("answers a frame it does not understand with an error, and stays open", async () => {
    const desk = await operator(org);
    desk.send("not json");
    desk.send({ type: "message", content: "hi" });
    const errors = [await desk.next(isType("error")), await desk.next(isType("error"))];
    expect(errors.map((e) => e.error)).toEqual(["invalid_message", "invalid_message"]);
    const user = await visitor(org);
    await postOperatorMessage(org, user.conversationId, "still here");
    await desk.next(messageOf(user.conversationId, "still here"));
  });

  describe("across gateways", () => {
    let gatewayB: HubProcess;
    beforeAll(async () => {
      gatewayB = await spawnHub({ ...hub.env, ROLE: "gateway" });
    }, 60_000);
    afterAll(async () => {
      gatewayB?.proc.kill("SIGTERM");
      await gatewayB?.exited;
    });

    it("brings an operator's message sent through one gateway to an operator connected to another", async () => {
      const desk = await operator(org, gatewayB.url as string);
      const user = await visitor(org);
      await postOperatorMessage(org, user.conversationId, "through the bus", "Ana");
      const frame = await desk.next(messageOf(user.conversationId, "through the bus"));
      expect(frame.message.author).toEqual({ kind: "operator", name: "Ana" });
    });
  });
});
