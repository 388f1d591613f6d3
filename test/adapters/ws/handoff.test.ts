import { startTestHub, type TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { botMessage, connect, connectTo, type Frame, isType } from "./client";

// Handoff in the widget: the handoff message comes as the bot's reply; the operator's message comes on the
// socket; a message written while a person has the conversation is echoed and stored, and the bot does not
// answer it; an API handoff is announced on the socket. An operator's client on /ws/operators follows it all.

const HANDOFF_MESSAGE = "A person from our team will answer you here.";

describe("handoff in the widget", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("postgres", { HANDOFF_MESSAGE });
  });
  afterAll(() => hub?.stop());

  const inbox = (conversation: string, action: string, body: object = {}) => hub.api(`/api/inbox/${conversation}/${action}`, { body });

  it("asks for a person, hears from the operator, writes while held (no bot reply), is released and answered again", async () => {
    const desk = await connectTo(hub.url, "/ws/operators", {}, { headers: { authorization: `Bearer ${hub.key}` } });
    await desk.next(isType("status"));
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    const conversationId: string = status.conversation_id;
    const ours = (f: Frame) => f.conversationId === conversationId;
    const stateOn = (state: string) => (f: Frame) => ours(f) && f.type === "state" && f.state === state;
    const messageOn = (content: string) => (f: Frame) => ours(f) && f.type === "message" && f.message.content === content;
    const saw = (match: (f: Frame) => boolean) => waitFor(() => desk.frames.find(match));

    socket.send({ type: "message", content: "Je voudrais parler à un conseiller", session_id: status.session_id });
    const asked = await socket.next((f) => f.type === "message" && f.sender === "user");
    expect(await socket.next(botMessage)).toMatchObject({ content: HANDOFF_MESSAGE, reply_to: asked.id });
    expect(await saw(stateOn("waiting"))).toMatchObject({ assignee: null });
    await saw(messageOn(HANDOFF_MESSAGE));

    expect((await inbox(conversationId, "takeover", { operator: "Ana" })).body.state).toBe("human");
    expect(await saw(stateOn("human"))).toMatchObject({ assignee: "Ana" });
    const sent = await inbox(conversationId, "messages", { content: "Bonjour, ici Ana.", author: "Ana" });
    expect(sent.status).toBe(201);
    expect(await socket.next((f) => botMessage(f) && f.content === "Bonjour, ici Ana.")).toMatchObject({
      author: { kind: "operator", name: "Ana" },
    });
    expect((await saw(messageOn("Bonjour, ici Ana."))).message).toMatchObject({ id: sent.body.id, author: { name: "Ana" } });

    socket.send({ type: "message", content: "Allô ?", session_id: status.session_id });
    const held = await socket.next((f) => f.type === "message" && f.sender === "user" && f.content === "Allô ?");
    expect((await saw(messageOn("Allô ?"))).message).toMatchObject({ id: held.id, role: "user" });
    const stored = await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id: held.id } });
    expect(stored.status).toBe("held");

    expect((await inbox(conversationId, "release")).body.state).toBe("bot");
    await saw(stateOn("bot"));
    socket.send({ type: "message", content: "What can you do?", session_id: status.session_id });
    const next = await socket.next((f) => f.type === "message" && f.sender === "user" && f.content === "What can you do?");
    const answer = await socket.next((f) => botMessage(f) && f.reply_to === next.id);
    expect(answer).toMatchObject({ sender: "bot" });
    expect(answer).not.toHaveProperty("author");
    await saw(messageOn(answer.content));
    expect(socket.frames.filter((f) => botMessage(f) && f.reply_to === held.id)).toEqual([]);
    // The operators saw the conversation's whole story, in order (the handoff message is the turn's reply: it
    // comes before the state change that the turn announces after it).
    expect(
      desk.frames.filter((f) => ours(f) && (f.type === "state" || f.type === "message")).map((f) => f.state ?? f.message.content),
    ).toEqual([
      "Je voudrais parler à un conseiller",
      HANDOFF_MESSAGE,
      "waiting",
      "human",
      "Bonjour, ici Ana.",
      "Allô ?",
      "bot",
      "What can you do?",
      answer.content,
    ]);
    await Promise.all([socket.close(), desk.close()]);
  });

  it("an API handoff is announced to the visitor with the handoff message", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    expect((await hub.api(`/api/inbox/${status.conversation_id}/handoff`, { body: { reason: "VIP" } })).status).toBe(200);
    expect(await socket.next(botMessage)).toMatchObject({ content: HANDOFF_MESSAGE });
    await socket.close();
  });
});
