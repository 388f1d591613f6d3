import { DB_KINDS } from "../../support/databases";
import { startTestHub, type TestHub } from "../../support/hub";
import { botMessage, connect, type Frame, isType } from "./client";

const RETURNS = `# Returns\n\nYou can return any item within 30 days of delivery. Print the prepaid label from your account page.`;
const SEED_TYPES = ["message", "typing", "suggestion", "status", "error"];

describe.each(DB_KINDS)("the /ws protocol (%s)", (kind) => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await startTestHub(kind);
    const folder = (await hub.api("/api/folders", { body: { name: "Help", public: true } })).body.id;
    await hub.api(`/api/folders/${folder}/documents`, { body: { title: "Returns_Policy", content: RETURNS } });
    await hub.runtime.db.prisma.assistant.updateMany({
      where: { orgId: hub.orgId, name: "default" },
      data: { suggestions: ["How do I print the label?", "Talk to a person"] },
    });
  });
  afterAll(() => hub?.stop());

  it("sends a status frame with the session and conversation ids on connect", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next();
    expect(status).toMatchObject({ type: "status", status: "connected", authenticated: false, resumed: false, stream: false });
    const session = await hub.runtime.db.prisma.chatSession.findUniqueOrThrow({ where: { id: status.session_id } });
    expect(session.conversationId).toBe(status.conversation_id);
    await socket.close();
  });

  it("answers a seed message frame with the seed's frames: the message, typing, the bot's message, suggestions", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    socket.send({ type: "message", content: "How many days do I have to return an item?", session_id: status.session_id });
    const mine = await socket.next(isType("message"));
    expect(mine).toEqual({
      type: "message",
      id: expect.any(String),
      sender: "user",
      content: "How many days do I have to return an item?",
      timestamp: expect.any(String),
      session_id: status.session_id,
    });
    const reply = await socket.next(botMessage);
    expect(reply).toMatchObject({ sender: "bot", session_id: status.session_id, reply_to: mine.id, sources: ["Returns_Policy"] });
    expect(reply.content).toContain("within 30 days");
    expect(Date.parse(reply.timestamp)).toBeGreaterThanOrEqual(Date.parse(mine.timestamp));
    expect(await socket.next(isType("suggestion"))).toEqual({
      type: "suggestion",
      suggestions: ["How do I print the label?", "Talk to a person"],
      reply_to: reply.id,
    });
    const typing = socket.frames.find(isType("typing"));
    expect(typing).toEqual({ type: "typing", sender: "bot", reply_to: mine.id });
    expect(socket.frames.indexOf(typing as Frame)).toBeLessThan(socket.frames.indexOf(reply));
    expect(socket.frames.every((f) => SEED_TYPES.includes(f.type))).toBe(true);
    await socket.close();
  });

  it("streams the reply as delta frames before the final message to a client that asked with ?stream=1", async () => {
    const socket = await connect(hub.url, { stream: "1" });
    expect(await socket.next(isType("status"))).toMatchObject({ stream: true });
    socket.send({ type: "message", content: "Where do I print the return label?" });
    const reply = await socket.next(botMessage);
    const deltas = socket.frames.filter(isType("delta"));
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    expect(deltas.map((d) => d.content).join("")).toBe(reply.content);
    expect(deltas.every((d) => d.reply_to === reply.reply_to)).toBe(true);
    await socket.close();
  });

  it("answers malformed frames with invalid_message and keeps the socket open", async () => {
    const socket = await connect(hub.url);
    await socket.next(isType("status"));
    const bad = ["not json", "[]", JSON.stringify({ type: "shout", content: "hi" }), JSON.stringify({ type: "message" })];
    bad.push(JSON.stringify({ type: "message", content: "   " }), JSON.stringify({ type: "message", content: "x".repeat(9000) }));
    for (const frame of bad) {
      socket.send(frame);
      expect(await socket.next(isType("error"))).toMatchObject({ type: "error", code: "invalid_message", message: expect.any(String) });
    }
    socket.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await socket.next(isType("error"))).toMatchObject({ code: "invalid_message" });
    socket.send({ type: "message", content: "hello", session_id: "someone-else" });
    expect(await socket.next(isType("error"))).toMatchObject({ code: "forbidden" });
    socket.send({ type: "message", content: "Still there?" });
    expect(await socket.next(botMessage)).toMatchObject({ sender: "bot" });
    const stored = await hub.runtime.db.prisma.message.count({ where: { sessionId: socket.frames[0].session_id } });
    expect(stored).toBe(2);
    await socket.close();
  });

  it("stores a resent message (same client id) once and answers it once", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    socket.send({ type: "message", id: "c-1", content: "Can I return shoes?" });
    socket.send({ type: "message", id: "c-1", content: "Can I return shoes?" });
    await socket.next(botMessage);
    await new Promise((r) => setTimeout(r, 300));
    expect(socket.frames.filter(isType("message")).map((f) => f.sender)).toEqual(["user", "bot"]);
    expect(await hub.runtime.db.prisma.message.count({ where: { sessionId: status.session_id } })).toBe(2);
    await socket.close();
  });
});
