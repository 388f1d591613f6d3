import { addOperator, asOperator, PASSWORD, signIn } from "../../support/console";
import { startTestHub, type TestHub } from "../../support/hub";
import { clearOfMinuteBoundary, createTestOrg, type TestOrg } from "../../support/orgs";
import { connectTo } from "../ws/client";

// The console's sign-in and what a session may do: cookie flags, logout, expiry, roles, org isolation, and
// the Origin checks that keep another site from acting with an operator's cookie.

describe("the console API", () => {
  let hub: TestHub;
  let other: TestOrg;
  let conversationId: string;
  // Each test signs in from an address of its own (the hub trusts 127.0.0.1 as a proxy), so the
  // per-address login limit of one test does not spill into another.
  let n = 0;
  const fromAddress = () => ({ "x-forwarded-for": `198.51.100.${++n}` });

  beforeAll(async () => {
    hub = await startTestHub("postgres", {
      TRUSTED_PROXIES: "127.0.0.1",
      CONSOLE_LOGINS_PER_ADDRESS_PER_MINUTE: "8",
      WS_HEARTBEAT_MS: "500",
    });
    other = await createTestOrg(hub, "Other");
    const c = await hub.runtime.db.prisma.conversation.create({
      data: { orgId: hub.orgId, externalId: "whatsapp_+351910000001", channel: "whatsapp" },
    });
    conversationId = c.id;
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it("signs in with a cookie that is httpOnly, SameSite=Strict, Path=/, and Secure behind https", async () => {
    const agent = await addOperator(hub, hub.orgId, "agent");
    const plain = await signIn(hub, agent.email.toUpperCase(), PASSWORD, fromAddress());
    expect(plain.status).toBe(200);
    expect(plain.body.operator).toMatchObject({ email: agent.email, role: "agent", orgId: hub.orgId });
    expect(plain.setCookie).toMatch(/^hub_console=[\w-]{40,};/);
    expect(plain.setCookie).toMatch(/; HttpOnly/);
    expect(plain.setCookie).toMatch(/; SameSite=Strict/);
    expect(plain.setCookie).toMatch(/; Path=\//);
    expect(plain.setCookie).not.toMatch(/Secure/);
    expect(plain.setCookie).not.toMatch(/Expires|Max-Age/);
    const secure = await signIn(hub, agent.email, PASSWORD, { ...fromAddress(), "x-forwarded-proto": "https" });
    expect(secure.setCookie).toMatch(/; Secure/);
    // The token is stored only as a hash.
    const stored = await hub.runtime.db.prisma.operatorSession.findMany({ where: { operatorId: agent.id } });
    expect(stored).toHaveLength(2);
    expect(JSON.stringify(stored)).not.toContain(plain.cookie.split("=")[1]);
    expect((await asOperator(hub, plain.cookie)("/api/console/me")).body.operator.email).toBe(agent.email);
  });

  it("answers a wrong password and an unknown email alike, and sets no cookie", async () => {
    const agent = await addOperator(hub, hub.orgId, "agent");
    const wrong = await signIn(hub, agent.email, "not the password", fromAddress());
    const unknown = await signIn(hub, "nobody@example.test", PASSWORD, fromAddress());
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toEqual({ error: "unauthorized", message: "Wrong email or password" });
    expect(wrong.setCookie + unknown.setCookie).toBe("");
    expect((await hub.api("/api/console/me", { headers: { authorization: "" } })).status).toBe(401);
  });

  it("limits login attempts per email and per address, the right password included", async () => {
    await clearOfMinuteBoundary();
    const agent = await addOperator(hub, hub.orgId, "agent");
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await signIn(hub, agent.email, "guess", fromAddress())).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const locked = await signIn(hub, agent.email, PASSWORD, fromAddress());
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ error: "rate_limited", retry_after: expect.any(Number) });

    const address = fromAddress();
    const fromOne: number[] = [];
    for (let i = 0; i < 9; i++) fromOne.push((await signIn(hub, `guess${i}@example.test`, "guess", address)).status);
    expect(fromOne.slice(0, 8).every((s) => s === 401)).toBe(true);
    expect(fromOne[8]).toBe(429);
  });

  it("ends the session at logout, and when it has gone unused past its expiry; use moves the expiry on", async () => {
    const agent = await addOperator(hub, hub.orgId, "agent");
    const prisma = hub.runtime.db.prisma;
    const { cookie } = await signIn(hub, agent.email, PASSWORD, fromAddress());
    const session = await prisma.operatorSession.findFirstOrThrow({ where: { operatorId: agent.id } });
    expect(session.expiresAt.getTime() - Date.now()).toBeGreaterThan(11.9 * 3_600_000);

    // Used after a while: the expiry slides on.
    await prisma.operatorSession.update({
      where: { id: session.id },
      data: { lastSeenAt: new Date(Date.now() - 120_000), expiresAt: new Date(Date.now() + 60_000) },
    });
    expect((await asOperator(hub, cookie)("/api/console/me")).status).toBe(200);
    const slid = await prisma.operatorSession.findUniqueOrThrow({ where: { id: session.id } });
    expect(slid.expiresAt.getTime() - Date.now()).toBeGreaterThan(11.9 * 3_600_000);

    await prisma.operatorSession.update({ where: { id: session.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await asOperator(hub, cookie)("/api/console/me")).status).toBe(401);
    expect((await asOperator(hub, cookie)("/api/inbox")).status).toBe(401);

    const again = await signIn(hub, agent.email, PASSWORD, fromAddress());
    const out = await asOperator(hub, again.cookie)("/api/console/logout", { method: "POST" });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/^hub_console=;.*Expires=Thu, 01 Jan 1970/);
    expect((await asOperator(hub, again.cookie)("/api/console/me")).status).toBe(401);
  });

  it("lets an admin add and remove the org's operators, and not an agent", async () => {
    const admin = await addOperator(hub, hub.orgId, "admin");
    const agent = await addOperator(hub, hub.orgId, "agent");
    const asAdmin = asOperator(hub, (await signIn(hub, admin.email, PASSWORD, fromAddress())).cookie);
    const agentCookie = (await signIn(hub, agent.email, PASSWORD, fromAddress())).cookie;
    const asAgent = asOperator(hub, agentCookie);

    expect((await asAgent("/api/console/operators")).status).toBe(403);
    const refused = await asAgent("/api/console/operators", { body: { email: "x@example.test", password: PASSWORD, role: "admin" } });
    expect(refused).toMatchObject({ status: 403, body: { error: "forbidden" } });
    expect((await asAgent(`/api/console/operators/${admin.id}`, { method: "DELETE" })).status).toBe(403);

    const email = `new-${Date.now()}@example.test`;
    const added = await asAdmin("/api/console/operators", { body: { email, password: PASSWORD, role: "agent" } });
    expect(added).toMatchObject({ status: 201, body: { email, role: "agent", orgId: hub.orgId } });
    expect((await asAdmin("/api/console/operators", { body: { email, password: PASSWORD, role: "agent" } })).status).toBe(409);
    expect(
      (await asAdmin("/api/console/operators", { body: { email: "bad", password: "short", role: "boss" } })).body.issues
        .map((i: { field: string }) => i.field)
        .sort(),
    ).toEqual(["email", "password", "role"]);
    const list = (await asAdmin("/api/console/operators")).body.operators.map((o: { email: string }) => o.email);
    expect(list).toEqual(expect.arrayContaining([admin.email, agent.email, email]));
    expect(JSON.stringify(list)).not.toContain("scrypt");

    // Removed: their session stops working at once. Oneself: refused.
    expect((await asAdmin(`/api/console/operators/${agent.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await asAgent("/api/console/me")).status).toBe(401);
    expect((await asAdmin(`/api/console/operators/${admin.id}`, { method: "DELETE" })).status).toBe(409);
    // Another org's operator is not found, as one that does not exist.
    const theirs = await addOperator(hub, other.orgId, "agent");
    expect((await asAdmin(`/api/console/operators/${theirs.id}`, { method: "DELETE" })).status).toBe(404);
    expect(await hub.runtime.db.prisma.operator.count({ where: { id: theirs.id } })).toBe(1);
  });

  it("uses the inbox with the cookie in its own org; another org's operator gets 404 for this org's conversation", async () => {
    const agent = await addOperator(hub, hub.orgId, "agent");
    const asAgent = asOperator(hub, (await signIn(hub, agent.email, PASSWORD, fromAddress())).cookie);
    const stranger = await addOperator(hub, other.orgId, "admin");
    const asStranger = asOperator(hub, (await signIn(hub, stranger.email, PASSWORD, fromAddress())).cookie);

    expect((await asStranger(`/api/console/conversations/${conversationId}`)).status).toBe(404);
    expect((await asStranger(`/api/inbox/${conversationId}/takeover`, { body: {} })).status).toBe(404);
    expect((await asStranger("/api/inbox")).body.conversations).toEqual([]);

    const listed = await asAgent("/api/inbox");
    expect(listed.body.conversations.map((c: { id: string }) => c.id)).toContain(conversationId);
    const taken = await asAgent(`/api/inbox/${conversationId}/takeover`, { body: {} });
    expect(taken.body).toMatchObject({ state: "human", assignee: agent.email });
    const transcript = await asAgent(`/api/console/conversations/${conversationId}`);
    expect(transcript.body.conversation).toMatchObject({ id: conversationId, channel: "whatsapp", state: "human", assignee: agent.email });
    expect((await asAgent(`/api/inbox/${conversationId}/release`, { body: {} })).body.state).toBe("bot");
  });

  it("refuses a state-changing request with the cookie from another origin, or with no Origin", async () => {
    const admin = await addOperator(hub, hub.orgId, "admin");
    const { cookie } = await signIn(hub, admin.email, PASSWORD, fromAddress());
    const as = asOperator(hub, cookie);
    const evil = { origin: "http://evil.example" };
    for (const origin of [evil, { origin: "" }]) {
      expect(await as(`/api/inbox/${conversationId}/takeover`, { body: {}, headers: origin })).toMatchObject({
        status: 403,
        body: { error: "forbidden" },
      });
      expect(
        (await as("/api/console/operators", { body: { email: "x@example.test", password: PASSWORD, role: "admin" }, headers: origin }))
          .status,
      ).toBe(403);
      expect((await as("/api/console/logout", { method: "POST", headers: origin })).status).toBe(403);
    }
    expect((await signIn(hub, admin.email, PASSWORD, { ...fromAddress(), ...evil })).status).toBe(403);
    expect((await hub.runtime.db.prisma.conversation.findUniqueOrThrow({ where: { id: conversationId } })).handoffState).toBe("bot");
    expect((await as("/api/console/me")).status).toBe(200);
  });

  it("opens /ws/operators with the cookie from the hub's own pages only", async () => {
    const agent = await addOperator(hub, hub.orgId, "agent");
    const { cookie } = await signIn(hub, agent.email, PASSWORD, fromAddress());
    const open = (headers: Record<string, string>) => connectTo(hub.url, "/ws/operators", {}, { headers }, ["hub.operators"]);

    await expect(open({ cookie, origin: "http://evil.example" })).rejects.toThrow("upgrade refused: 403");
    await expect(open({ cookie })).rejects.toThrow("upgrade refused: 403");
    const socket = await open({ cookie, origin: hub.url });
    expect(await socket.next()).toMatchObject({ type: "status", status: "connected", orgId: hub.orgId });
    await socket.close();
    const stranger = await open({ cookie: "hub_console=not-a-session", origin: hub.url });
    expect(await stranger.next()).toMatchObject({ type: "error", error: "unauthorized" });
    expect((await stranger.closed).code).toBe(4401);
  });

  it("answers a malformed cookie as no session, over HTTP and on /ws/operators", async () => {
    const cookie = "hub_console=%E0%A4%A";
    expect((await asOperator(hub, cookie)("/api/inbox")).status).toBe(401);
    const socket = await connectTo(hub.url, "/ws/operators", {}, { headers: { cookie, origin: hub.url } }, ["hub.operators"]);
    expect(await socket.next()).toMatchObject({ type: "error", error: "unauthorized" });
    expect((await socket.closed).code).toBe(4401);
    expect((await hub.api("/healthz")).status).toBe(200);
  });

  it("closes a socket opened with the cookie when its session ends", async () => {
    const agent = await addOperator(hub, hub.orgId, "agent");
    const { cookie } = await signIn(hub, agent.email, PASSWORD, fromAddress());
    const socket = await connectTo(hub.url, "/ws/operators", {}, { headers: { cookie, origin: hub.url } }, ["hub.operators"]);
    expect(await socket.next()).toMatchObject({ type: "status", status: "connected" });
    expect((await asOperator(hub, cookie)("/api/console/logout", { method: "POST" })).status).toBe(204);
    expect(await socket.next()).toMatchObject({ type: "error", error: "unauthorized" });
    expect((await socket.closed).code).toBe(4401);
  });
});
