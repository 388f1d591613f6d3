import WebSocket from "ws";
import { createApiKey } from "../../src/auth/keys";
import { type FakeOpenAI, startFakeOpenAI } from "../fakes/openai-server";
import { startTestHub, type TestHub } from "../support/hub";

const ASK = "/api/ai-hub/assistant/ask";

/** The value of one sample of the Prometheus text, e.g. `hub_inbound_messages_total{channel="api"}`. */
function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : Number.NaN;
}

describe("operations: /metrics and the queue dashboard", () => {
  let hub: TestHub;
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    // No follow-up of the failed turn (a second assistant call) while the counters are read.
    hub = await startTestHub("postgres", {
      ASSISTANT_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.url,
      OPENAI_MAX_RETRIES: "0",
      MODEL_RETRY_FOR_MS: "0",
      METRICS_PORT: "0",
    });
  });
  afterAll(async () => {
    await hub?.stop();
    await fake?.close();
  });

  const scrape = async () => {
    const res = await fetch(`${hub.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    return res.text();
  };

  it("serves /metrics on the metrics port, and not on the API port", async () => {
    expect(hub.metricsUrl).not.toBe(hub.url);
    await scrape();
    const public_ = await fetch(`${hub.url}/metrics`);
    expect(public_.status).toBe(404);
    expect(await public_.text()).not.toContain("hub_");
  });

  it("counts inbound messages, turns, assistant calls and failures, and reads queue depths", async () => {
    const before = await scrape();
    const ask = (id: string) =>
      hub.api(ASK, { body: { message: { id, role: "user", content: "Hello?" }, id: `conv-${id}`, assistantId: "default" } });
    expect((await ask("metrics-1")).status).toBe(200);
    fake.failNext(1, 500);
    expect((await ask("metrics-2")).status).toBe(502);
    expect((await ask("metrics-1")).status).toBe(200); // a retry is no new message

    const after = await scrape();
    const delta = (name: string) => sample(after, name) - (sample(before, name) || 0);
    expect(delta('hub_inbound_messages_total{channel="api"}')).toBe(2);
    expect(delta('hub_turn_duration_seconds_count{outcome="answered"}')).toBe(1);
    expect(delta('hub_turn_duration_seconds_count{outcome="failed"}')).toBe(1);
    expect(delta('hub_assistant_duration_seconds_count{provider="openai"}')).toBe(1);
    expect(delta('hub_assistant_errors_total{provider="openai"}')).toBe(1);
    expect(sample(after, 'hub_queue_jobs{queue="ask",state="waiting"}')).toBe(0);
    expect(after).toContain("process_resident_memory_bytes");
  });

  it("counts open WebSocket connections", async () => {
    const before = sample(await scrape(), "hub_websocket_connections");
    const ws = new WebSocket(`${hub.url.replace("http", "ws")}/ws`);
    await new Promise((resolve, reject) => {
      ws.once("message", resolve);
      ws.once("error", reject);
    });
    expect(sample(await scrape(), "hub_websocket_connections")).toBe(before + 1);
    ws.close();
    await new Promise((resolve) => ws.once("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sample(await scrape(), "hub_websocket_connections")).toBe(before);
  });

  it("opens the dashboard only for a key of the default org, by Bearer or Basic auth", async () => {
    const anonymous = await fetch(`${hub.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic/);

    const basic = `Basic ${Buffer.from(`operator:${hub.key}`).toString("base64")}`;
    const page = await fetch(`${hub.url}/admin/queues`, { headers: { authorization: basic } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");

    const api = await hub.api("/admin/queues/api/queues");
    expect(api.status).toBe(200);
    expect(api.body.queues.map((q: { name: string }) => q.name)).toContain("ask");

    const other = await hub.runtime.db.prisma.org.create({ data: { name: "Other" } });
    const otherKey = (await createApiKey(hub.runtime.db.prisma, other.id, "other")).secret;
    const refused = await fetch(`${hub.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${otherKey}` } });
    expect(refused.status).toBe(403);
  });
});

describe("operations: /metrics on the API port", () => {
  const TOKEN = "metrics-token-0123456789";

  it("is not served without a metrics token", async () => {
    const hub = await startTestHub("pglite");
    try {
      expect(hub.metricsUrl).toBeNull();
      const res = await fetch(`${hub.url}/metrics`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain("hub_");
    } finally {
      await hub.stop();
    }
  });

  it("needs METRICS_TOKEN as a Bearer token: no credentials, an API key or a wrong token get 401", async () => {
    const hub = await startTestHub("pglite", { METRICS_TOKEN: TOKEN });
    try {
      const scrape = (authorization?: string) => fetch(`${hub.url}/metrics`, { headers: authorization ? { authorization } : {} });
      for (const authorization of [undefined, `Bearer ${hub.key}`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`]) {
        const refused = await scrape(authorization);
        expect(refused.status).toBe(401);
        expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
        expect(await refused.text()).not.toContain("hub_");
      }
      const res = await scrape(`Bearer ${TOKEN}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("hub_inbound_messages_total");
    } finally {
      await hub.stop();
    }
  });

  it("is served by a worker-only process on the metrics port, which needs the token too when one is set", async () => {
    const worker = await startTestHub("pglite", { ROLE: "worker", METRICS_PORT: "0", METRICS_TOKEN: TOKEN });
    try {
      expect(worker.url).toBeNull();
      expect((await fetch(`${worker.metricsUrl}/metrics`)).status).toBe(401);
      const res = await fetch(`${worker.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("hub_turn_duration_seconds");
    } finally {
      await worker.stop();
    }
  });
});
