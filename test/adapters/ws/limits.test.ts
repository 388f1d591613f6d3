import { WebSocket } from "ws";
import { startTestHub, type TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { connect, isType } from "./client";

describe("limits of /ws", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("postgres", {
      WS_HEARTBEAT_MS: "300",
      WS_MAX_FRAME_BYTES: "4096",
      WS_ALLOWED_ORIGINS: "https://shop.example",
    });
  });
  afterAll(() => hub?.stop());

  it("drops a socket that stops answering heartbeats and keeps one that answers", async () => {
    const dead = await connect(hub.url, {}, { autoPong: false });
    const live = await connect(hub.url);
    const closed = await dead.closed;
    expect(closed.code).toBe(1006);
    await new Promise((r) => setTimeout(r, 700));
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    await live.close();
  });

  it("closes with 1009 on a frame above the maximum size", async () => {
    const socket = await connect(hub.url);
    await socket.next(isType("status"));
    socket.send({ type: "message", content: "x".repeat(5000) });
    expect((await socket.closed).code).toBe(1009);
  });

  it("allows 60 messages a minute per user, then answers rate_limited and keeps the socket open", async () => {
    // The limit counts per clock minute: start well inside one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_100 - intoMinute));
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    for (let i = 0; i < 61; i++) socket.send({ type: "message", content: `message ${i}` });
    const limited = await socket.next(isType("error"));
    expect(limited).toMatchObject({ type: "error", code: "rate_limited", message: expect.any(String) });
    expect(limited.retry_after).toBeGreaterThan(0);
    const prisma = hub.runtime.db.prisma;
    await waitFor(
      async () => (await prisma.message.count({ where: { sessionId: status.session_id, role: "user" } })) === 60,
      10_000,
      "60 stored",
    );
    socket.send("still open?");
    expect(await socket.next(isType("error"))).toMatchObject({ code: "invalid_message" });
    expect(socket.frames.filter(isType("error"))).toHaveLength(2);
    await socket.close();
  });

  it("accepts the hub's own origin and allowed ones, and refuses other browser origins", async () => {
    await expect(connect(hub.url, {}, { origin: "https://evil.example" })).rejects.toThrow("upgrade refused: 403");
    for (const origin of ["https://shop.example", hub.url]) {
      const socket = await connect(hub.url, {}, { origin });
      expect(await socket.next()).toMatchObject({ type: "status" });
      await socket.close();
    }
  });

  it("answers other upgrade paths with 404", async () => {
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${hub.url.replace("http", "ws")}/other`);
        ws.on("unexpected-response", (_req, res) => reject(new Error(String(res.statusCode))));
        ws.on("open", resolve);
      }),
    ).rejects.toThrow("404");
  });
});
