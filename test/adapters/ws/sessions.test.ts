import { signEndUserToken } from "../../../src/auth/endusers";
import { startTestHub, type TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { botMessage, connect, isType } from "./client";

const hour = () => Math.floor(Date.now() / 1000) + 3600;

describe("anonymous visitors on /ws", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("postgres", { WS_ANONYMOUS_TTL_MS: "1500" });
    await hub.api("/api/assistants", { body: { name: "sales" } });
  });
  afterAll(() => hub?.stop());

  it("may talk only to the default assistant", async () => {
    const refused = await connect(hub.url, { assistant_id: "sales" });
    expect(await refused.next()).toMatchObject({ type: "error", code: "forbidden" });
    expect((await refused.closed).code).toBe(4403);

    const socket = await connect(hub.url);
    await socket.next(isType("status"));
    socket.send({ type: "message", content: "hi", assistant_id: "sales" });
    expect(await socket.next(isType("error"))).toMatchObject({ code: "forbidden" });
    socket.send({ type: "message", content: "hi", assistant_id: "default" });
    expect(await socket.next(botMessage)).toMatchObject({ sender: "bot" });
    await socket.close();
  });

  it("ends the session after the configured inactivity and deletes its history", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    socket.send({ type: "message", content: "Remember me?" });
    await socket.next(botMessage);
    expect(await socket.next(isType("status"), 5000)).toMatchObject({ status: "expired", session_id: status.session_id });
    expect((await socket.closed).code).toBe(1000);
    const prisma = hub.runtime.db.prisma;
    await waitFor(async () => !(await prisma.conversation.findUnique({ where: { id: status.conversation_id } })), 5000, "the purge");
    expect(await prisma.message.count({ where: { conversationId: status.conversation_id } })).toBe(0);

    const again = await connect(hub.url, { session_id: status.session_id });
    const fresh = await again.next(isType("status"));
    expect(fresh).toMatchObject({ status: "connected", resumed: false });
    expect(fresh.session_id).not.toBe(status.session_id);
    await new Promise((r) => setTimeout(r, 200));
    expect(again.frames.filter(isType("message"))).toEqual([]);
    await again.close();
  });

  it("keeps a session alive while the visitor keeps talking", async () => {
    const socket = await connect(hub.url);
    const status = await socket.next(isType("status"));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 700));
      socket.send({ type: "message", content: `still here ${i}` });
      await socket.next(botMessage);
    }
    expect(socket.frames.some((f) => f.status === "expired")).toBe(false);
    expect(await hub.runtime.db.prisma.chatSession.findUnique({ where: { id: status.session_id } })).not.toBeNull();
    await socket.close();
  });
});

describe("authenticated users on /ws", () => {
  let hub: TestHub;
  let secret: string;
  const token = (sub: string, extra: Record<string, unknown> = {}) => signEndUserToken(secret, { sub, exp: hour(), ...extra });

  beforeAll(async () => {
    hub = await startTestHub("postgres");
    secret = (await hub.api("/api/ws/end-user-secret", { body: {} })).body.end_user_secret;
    await hub.api("/api/assistants", { body: { name: "sales", suggestions: ["See prices"] } });
  });
  afterAll(() => hub?.stop());

  it("syncs every device of a user: each socket sees the user's messages and the replies", async () => {
    const phone = await connect(hub.url, { token: await token("alice") });
    const laptop = await connect(hub.url, { token: await token("alice") });
    const [a, b] = [await phone.next(isType("status")), await laptop.next(isType("status"))];
    expect(a).toMatchObject({ authenticated: true, user_id: "alice" });
    expect(b.session_id).toBe(a.session_id);
    phone.send({ type: "message", content: "Sent from my phone" });
    for (const socket of [phone, laptop]) {
      expect(await socket.next(isType("message"))).toMatchObject({ sender: "user", content: "Sent from my phone" });
      expect(await socket.next(botMessage)).toMatchObject({ sender: "bot" });
    }
    const stranger = await connect(hub.url, { token: await token("bob") });
    expect((await stranger.next(isType("status"))).session_id).not.toBe(a.session_id);
    await Promise.all([phone.close(), laptop.close(), stranger.close()]);
  });

  it("keeps the full history: a new device gets it on connect, and any deployed assistant answers", async () => {
    const first = await connect(hub.url, { token: await token("carol") });
    await first.next(isType("status"));
    first.send({ type: "message", content: "one" });
    await first.next(botMessage);
    first.send({ type: "message", content: "two", assistant_id: "sales" });
    await first.next(botMessage);
    expect(await first.next(isType("suggestion"))).toMatchObject({ suggestions: ["See prices"] });
    await first.close();

    const later = await connect(hub.url, { token: await token("carol") });
    const status = await later.next(isType("status"));
    expect(status.resumed).toBe(false);
    await waitFor(async () => later.frames.filter(isType("message")).length === 4, 5000, "the history");
    expect(later.frames.filter(isType("message")).map((f) => `${f.sender}:${f.sender === "user" ? f.content : ""}`)).toEqual([
      "user:one",
      "bot:",
      "user:two",
      "bot:",
    ]);
    await later.close();
  });

  it("accepts an API key acting for a user, and the assistant named on connect", async () => {
    const socket = await connect(hub.url, { user_id: "dave", assistant_id: "sales" }, { headers: { authorization: `Bearer ${hub.key}` } });
    expect(await socket.next(isType("status"))).toMatchObject({ authenticated: true, user_id: "dave", assistant_id: "sales" });
    socket.send({ type: "message", content: "prices?" });
    await socket.next(botMessage);
    expect(await socket.next(isType("suggestion"))).toMatchObject({ suggestions: ["See prices"] });
    await socket.close();
  });

  it("refuses bad tokens with unauthorized, others' sessions with forbidden, unknown ones with not_found", async () => {
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(JSON.stringify({ sub: "alice", exp: hour() })).toString("base64url");
    const refusals: [Record<string, string>, string, number][] = [
      [{ token: await signEndUserToken("not-the-secret", { sub: "alice", exp: hour() }) }, "unauthorized", 4401],
      [{ token: await token("alice", { exp: Math.floor(Date.now() / 1000) - 5 }) }, "unauthorized", 4401],
      [{ token: `${none}.${body}.` }, "unauthorized", 4401],
      [{ token: "hub_not_a_key" }, "unauthorized", 4401],
      [{ token: await token("alice"), assistant_id: "nobody" }, "not_found", 4404],
      [{ token: await token("alice"), session_id: "00000000-0000-4000-8000-000000000000" }, "not_found", 4404],
    ];
    const alice = await connect(hub.url, { token: await token("alice") });
    const aliceSession = (await alice.next(isType("status"))).session_id;
    await alice.close();
    refusals.push([{ token: await token("mallory"), session_id: aliceSession }, "forbidden", 4403]);
    refusals.push([{ session_id: aliceSession }, "forbidden", 4403]);
    for (const [query, code, closeCode] of refusals) {
      const socket = await connect(hub.url, query);
      expect(await socket.next()).toMatchObject({ type: "error", code });
      expect((await socket.closed).code).toBe(closeCode);
    }
  });

  it("lets the org set its end-user secret: old tokens stop working", async () => {
    const old = await token("erin");
    const set = await hub.api("/api/ws/end-user-secret", { body: { secret: "s".repeat(40) } });
    expect(set.body).toEqual({ org_id: hub.orgId, end_user_secret: "s".repeat(40) });
    expect((await hub.api("/api/ws/end-user-secret", { body: { secret: "short" } })).status).toBe(400);
    const refused = await connect(hub.url, { token: old });
    expect((await refused.closed).code).toBe(4401);
    secret = "s".repeat(40);
    const ok = await connect(hub.url, { token: await token("erin") });
    expect(await ok.next()).toMatchObject({ type: "status", user_id: "erin" });
    await ok.close();
  });
});
