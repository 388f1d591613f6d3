import { type FakeOpenAI, startFakeOpenAI } from "../../fakes/openai-server";
import { startTestHub, type TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { botMessage, connect, isType } from "./client";

describe("resuming a /ws session", () => {
  let hub: TestHub;
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    hub = await startTestHub("postgres", { ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: fake.url });
  });
  afterAll(async () => {
    await hub?.stop();
    await fake?.close();
  });

  it("sends every missed message in order, then the live stream, each message once", async () => {
    const first = await connect(hub.url, { stream: "1" });
    const status = await first.next(isType("status"));
    first.send({ type: "message", content: "m1" });
    const r1 = await first.next(botMessage);
    await first.close();

    // Meanwhile another tab of the same session talks on; its last turn is still being answered.
    const other = await connect(hub.url, { session_id: status.session_id, last_message_id: r1.id });
    await other.next(isType("status"));
    other.send({ type: "message", content: "m2" });
    await other.next(botMessage);
    fake.setDelay(800);
    other.send({ type: "message", content: "m3" });
    await other.next((f) => f.type === "typing");

    const back = await connect(hub.url, { session_id: status.session_id, last_message_id: r1.id, stream: "1" });
    expect(await back.next(isType("status"))).toMatchObject({ session_id: status.session_id, resumed: true });
    await waitFor(async () => back.frames.filter(isType("message")).length === 4, 10_000, "the missed messages and the live reply");
    fake.setDelay(0);
    await new Promise((r) => setTimeout(r, 300));
    const messages = back.frames.filter(isType("message"));
    expect(messages.map((m) => m.content)).toEqual(["m2", "Echo: m2", "m3", "Echo: m3"]);
    expect(new Set(messages.map((m) => m.id)).size).toBe(4);
    const deltas = back.frames.filter(isType("delta"));
    expect(deltas.map((d) => d.content).join("")).toBe("Echo: m3");
    expect(back.frames.findIndex(isType("delta"))).toBeGreaterThan(back.frames.indexOf(messages[2]));
    await Promise.all([back.close(), other.close()]);
  });

  it("gives a reply that was stored while the client was away, and nothing again on a second resume", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    fake.setDelay(500);
    socket.send({ type: "message", content: "while away" });
    const mine = await socket.next(isType("message"));
    await socket.close();
    await waitFor(async () => hub.runtime.db.prisma.message.findFirst({ where: { inReplyToId: mine.id } }), 10_000, "the reply stored");
    fake.setDelay(0);
    const back = await connect(hub.url, { session_id: status.session_id, last_message_id: mine.id });
    const reply = await back.next(botMessage);
    expect(reply).toMatchObject({ content: "Echo: while away", reply_to: mine.id });
    await back.close();
    const again = await connect(hub.url, { session_id: status.session_id, last_message_id: reply.id });
    await again.next(isType("status"));
    await new Promise((r) => setTimeout(r, 300));
    expect(again.frames.filter(isType("message"))).toEqual([]);
    await again.close();
  });
});
