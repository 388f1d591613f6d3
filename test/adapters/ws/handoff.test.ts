import { startTestHub, type TestHub } from "../../support/hub";
import { botMessage, connect, isType } from "./client";

// Handoff in the widget: the handoff message comes as the bot's reply; a message written while a person has the
// conversation is echoed and stored, and the bot does not answer it; an API handoff is announced on the socket.

const HANDOFF_MESSAGE = "A person from our team will answer you here.";

describe("handoff in the widget", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("postgres", { HANDOFF_MESSAGE });
  });
  afterAll(() => hub?.stop());

  const inbox = (conversation: string, action: string) => hub.api(`/api/inbox/${conversation}/${action}`, { body: {} });

  it("asks for a person, writes while held (no bot reply), is released and answered again", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    socket.send({ type: "message", content: "Je voudrais parler à un conseiller", session_id: status.session_id });
    const asked = await socket.next((f) => f.type === "message" && f.sender === "user");
    expect(await socket.next(botMessage)).toMatchObject({ content: HANDOFF_MESSAGE, reply_to: asked.id });

    expect((await inbox(status.conversation_id, "takeover")).body.state).toBe("human");
    socket.send({ type: "message", content: "Allô ?", session_id: status.session_id });
    const held = await socket.next((f) => f.type === "message" && f.sender === "user" && f.content === "Allô ?");
    const stored = await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id: held.id } });
    expect(stored.status).toBe("held");

    expect((await inbox(status.conversation_id, "release")).body.state).toBe("bot");
    socket.send({ type: "message", content: "What can you do?", session_id: status.session_id });
    const next = await socket.next((f) => f.type === "message" && f.sender === "user" && f.content === "What can you do?");
    expect(await socket.next((f) => botMessage(f) && f.reply_to === next.id)).toMatchObject({ sender: "bot" });
    expect(socket.frames.filter((f) => botMessage(f) && f.reply_to === held.id)).toEqual([]);
    await socket.close();
  });

  it("an API handoff is announced to the visitor with the handoff message", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    expect((await hub.api(`/api/inbox/${status.conversation_id}/handoff`, { body: { reason: "VIP" } })).status).toBe(200);
    expect(await socket.next(botMessage)).toMatchObject({ content: HANDOFF_MESSAGE });
    await socket.close();
  });
});
