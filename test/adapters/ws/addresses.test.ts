import { signEndUserToken } from "../../../src/auth/endusers";
import { loadConfig } from "../../../src/config";
import { type RunningHub, startHub } from "../../../src/main";
import { startTestHub, type TestHub } from "../../support/hub";
import { clearOfMinuteBoundary } from "../../support/orgs";
import { waitFor } from "../../support/processes";
import { connect, isType, type TestSocket } from "./client";

// Anonymous widget visitors' budget per client address, on two gateways sharing one Redis. The test's
// sockets come from 127.0.0.1, the trusted proxy here, which names the client in X-Forwarded-For; sockets
// from 127.0.0.2 are a peer that is no proxy, whose X-Forwarded-For means nothing.
describe("/ws budget per client address", () => {
  let hub: TestHub;
  let second: RunningHub;
  const opened: TestSocket[] = [];

  beforeAll(async () => {
    hub = await startTestHub("postgres", {
      TRUSTED_PROXIES: "127.0.0.1",
      WS_ANONYMOUS_SESSIONS_PER_ADDRESS: "3",
      WS_ANONYMOUS_PER_ADDRESS_PER_MINUTE: "5",
      // Out of the way here: these tests open many sockets; the next describe tests it.
      WS_ANONYMOUS_SESSIONS_PER_ADDRESS_PER_MINUTE: "10000",
    });
    second = await startHub(loadConfig({ ...hub.env, ROLE: "gateway" }));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await second.stop();
    await hub.stop();
  });

  /** A socket from `client` through the trusted proxy, or from an untrusted peer claiming to forward for it. */
  async function open(client: string, { url = hub.url, untrusted = false, query = {}, headers = {} } = {}) {
    const options = { headers: { "x-forwarded-for": client, ...headers }, ...(untrusted ? { localAddress: "127.0.0.2" } : {}) };
    const socket = await connect(url, query, options);
    opened.push(socket);
    return { socket, first: await socket.next() };
  }
  const connected = { type: "status", status: "connected" };

  async function expectRefused(client: string, options: Parameters<typeof open>[1] = {}) {
    const { socket, first } = await open(client, options);
    expect(first).toMatchObject({ type: "error", code: "rate_limited", message: expect.stringContaining("anonymous sessions") });
    expect((await socket.closed).code).toBe(4429);
  }

  it("refuses an address's anonymous sockets past its budget on either gateway, and takes one again once a socket closes", async () => {
    const client = "203.0.113.1";
    const sessionsBefore = await hub.runtime.db.prisma.chatSession.count();
    const sockets = [];
    for (const url of [hub.url, second.url as string, hub.url]) {
      const { socket, first } = await open(client, { url });
      expect(first).toMatchObject(connected);
      sockets.push(socket);
    }
    await expectRefused(client);
    await expectRefused(client, { url: second.url as string });
    // A refused socket stores nothing.
    expect(await hub.runtime.db.prisma.chatSession.count()).toBe(sessionsBefore + 3);

    await sockets[0].close();
    await waitFor(async () => (await open(client)).first.type === "status", 10_000, "a place freed by the close");
  });

  it("counts each address behind the trusted proxy apart, by the right-most address the proxy did not add", async () => {
    const full = "203.0.113.2";
    for (let i = 0; i < 3; i++) expect((await open(full)).first).toMatchObject(connected);
    expect((await open("203.0.113.3")).first).toMatchObject(connected);
    // What the client wrote left of the address the proxy saw changes nothing; trusted hops are skipped.
    await expectRefused(`198.51.100.77, ${full}`);
    await expectRefused(`${full}, 127.0.0.1`);
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    for (let i = 0; i < 3; i++) expect((await open(`198.51.100.${i}`, { untrusted: true })).first).toMatchObject(connected);
    await expectRefused("198.51.100.200", { untrusted: true });
    expect((await open("198.51.100.201")).first).toMatchObject(connected);
  });

  it("caps messages a minute across an address's anonymous sessions with rate_limited and retry_after", async () => {
    await clearOfMinuteBoundary();
    const client = "203.0.113.4";
    const sockets = [];
    for (let i = 0; i < 3; i++) sockets.push((await open(client)).socket);
    const outcomes = [];
    for (let i = 0; i < 6; i++) {
      const socket = sockets[i % 3];
      socket.send({ type: "message", content: `message ${i}` });
      outcomes.push(await socket.next((f) => f.type === "error" || (f.type === "message" && f.content === `message ${i}`)));
    }
    expect(outcomes.slice(0, 5).map((f) => f.type)).toEqual(Array(5).fill("message"));
    expect(outcomes[5]).toMatchObject({ type: "error", code: "rate_limited", retry_after: expect.any(Number) });
    expect(outcomes[5].retry_after).toBeGreaterThan(0);
    // The socket stays open, and another address's visitor is not held back.
    expect(sockets[2].ws.readyState).toBe(sockets[2].ws.OPEN);
    const other = (await open("203.0.113.5")).socket;
    other.send({ type: "message", content: "from elsewhere" });
    expect(await other.next(isType("message"))).toMatchObject({ content: "from elsewhere" });
  });

  it("does not count signed-in users or API keys, from an address whose anonymous budget is spent", async () => {
    await clearOfMinuteBoundary();
    const client = "203.0.113.6";
    for (let i = 0; i < 3; i++) expect((await open(client)).first).toMatchObject(connected);
    await expectRefused(client);

    const secret = (await hub.api("/api/ws/end-user-secret", { body: {} })).body.end_user_secret;
    const token = await signEndUserToken(secret, { sub: "alice", exp: Math.floor(Date.now() / 1000) + 3600 });
    const users = [];
    for (let i = 0; i < 4; i++) {
      const { socket, first } = await open(client, { query: { token } });
      expect(first).toMatchObject({ ...connected, authenticated: true });
      users.push(socket);
    }
    expect((await open(client, { headers: { authorization: `Bearer ${hub.key}` } })).first).toMatchObject(connected);
    for (let i = 0; i < 6; i++) {
      users[0].send({ type: "message", content: `signed in ${i}` });
      expect(await users[0].next((f) => f.type === "error" || f.content === `signed in ${i}`)).toMatchObject({ type: "message" });
    }
  });
});

describe("/ws sessions opened a minute per client address", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("postgres", { TRUSTED_PROXIES: "127.0.0.1", WS_ANONYMOUS_SESSIONS_PER_ADDRESS_PER_MINUTE: "4" });
  });
  afterAll(() => hub?.stop());

  const openAndClose = async (client: string) => {
    const socket = await connect(hub.url, {}, { headers: { "x-forwarded-for": client } });
    const first = await socket.next();
    const { code } = first.type === "error" ? await socket.closed : await socket.close().then(() => ({ code: 1000 }));
    return { first, code };
  };

  it("refuses an address that opens and closes anonymous sockets in a loop, storing nothing for the refused", async () => {
    await clearOfMinuteBoundary();
    const client = "203.0.113.20";
    const sessionsBefore = await hub.runtime.db.prisma.chatSession.count();
    for (let i = 0; i < 4; i++) expect((await openAndClose(client)).first).toMatchObject({ type: "status", status: "connected" });
    const refused = await openAndClose(client);
    expect(refused.first).toMatchObject({ type: "error", code: "rate_limited", message: expect.stringContaining("opened") });
    expect(refused.code).toBe(4429);
    expect(await hub.runtime.db.prisma.chatSession.count()).toBe(sessionsBefore + 4);
    expect((await openAndClose("203.0.113.21")).first).toMatchObject({ type: "status", status: "connected" });
  });
});
