import { signEndUserToken } from "../../../src/auth/endusers";
import { type FakeOpenAI, startFakeOpenAI } from "../../fakes/openai-server";
import { startTestHub, type TestHub } from "../../support/hub";
import { type HubProcess, spawnHub } from "../../support/processes";
import { botMessage, connect, isType } from "./client";

// Two gateways (this process and a child) and a separate worker process, on one Redis and one Postgres.
describe("/ws across gateway processes", () => {
  let fake: FakeOpenAI;
  let gatewayA: TestHub;
  let gatewayB: HubProcess;
  let worker: HubProcess;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gatewayA = await startTestHub("postgres", { ROLE: "gateway", ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: fake.url });
    [gatewayB, worker] = await Promise.all([spawnHub({ ...gatewayA.env, ROLE: "gateway" }), spawnHub({ ...gatewayA.env, ROLE: "worker" })]);
  });
  afterAll(async () => {
    for (const p of [gatewayB, worker]) p?.proc.kill("SIGTERM");
    await Promise.all([gatewayB?.exited, worker?.exited]);
    await gatewayA?.stop();
    await fake?.close();
  });

  it("delivers the reply to a client that moved to the other gateway mid-turn, once", async () => {
    const onA = await connect(gatewayA.url, { stream: "1" });
    const status = await onA.next(isType("status"));
    fake.setDelay(1500);
    onA.send({ type: "message", content: "Where is my parcel?" });
    const mine = await onA.next(isType("message"));
    await onA.next(isType("typing"));
    await onA.close();

    const onB = await connect(gatewayB.url as string, { session_id: status.session_id, last_message_id: mine.id, stream: "1" });
    expect(await onB.next(isType("status"))).toMatchObject({ session_id: status.session_id, resumed: true });
    const reply = await onB.next(botMessage);
    fake.setDelay(0);
    expect(reply).toMatchObject({ content: "Echo: Where is my parcel?", reply_to: mine.id });
    expect(
      onB.frames
        .filter(isType("delta"))
        .map((d) => d.content)
        .join(""),
    ).toBe(reply.content);
    await new Promise((r) => setTimeout(r, 300));
    expect(onB.frames.filter(isType("message"))).toHaveLength(1);
    await onB.close();
  });

  it("syncs a user's sockets on different gateways", async () => {
    const secret = (await gatewayA.api("/api/ws/end-user-secret", { body: {} })).body.end_user_secret;
    const token = await signEndUserToken(secret, { sub: "frank", exp: Math.floor(Date.now() / 1000) + 600 });
    const [onA, onB] = await Promise.all([connect(gatewayA.url, { token }), connect(gatewayB.url as string, { token })]);
    await Promise.all([onA.next(isType("status")), onB.next(isType("status"))]);
    onB.send({ type: "message", content: "from B" });
    for (const socket of [onA, onB]) {
      expect(await socket.next(isType("message"))).toMatchObject({ sender: "user", content: "from B" });
      expect(await socket.next(botMessage)).toMatchObject({ content: "Echo: from B" });
    }
    await Promise.all([onA.close(), onB.close()]);
  });
});
