import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio-server";
import { startTestHub, type TestHub } from "../support/hub";
import { waitFor } from "../support/processes";
import { twilioEnv } from "../support/twilio";

const HUB_NUMBER = "+14155238886";
const OTHER_NUMBER = "+14155238887";
const TEMPLATE = `HX${"b".repeat(32)}`;

describe("sending within Twilio's throughput per number", () => {
  let twilio: FakeTwilio;
  let hubs: TestHub[];

  beforeAll(async () => {
    twilio = await startFakeTwilio();
    // Two hub processes' worth of deliver workers on one queue prefix and one database: the pace is shared.
    const first = await startTestHub("postgres", { ...twilioEnv(twilio), TWILIO_WHATSAPP_MPS: "3" });
    const second = await startTestHub("postgres", {
      ...twilioEnv(twilio),
      TWILIO_WHATSAPP_MPS: "3",
      QUEUE_PREFIX: first.env.QUEUE_PREFIX,
      DATABASE_URL: first.env.DATABASE_URL,
    });
    hubs = [first, second];
    for (const number of [HUB_NUMBER, OTHER_NUMBER]) {
      expect((await first.api(`/api/twilio/numbers/${number}`, { method: "PUT", body: { assistant: "default" } })).status).toBe(200);
    }
  });
  afterAll(async () => {
    // The second shares the first's database: it stops first (dropping only the one it made and did not use).
    for (const hub of [...(hubs ?? [])].reverse()) await hub.stop().catch(() => {});
    await twilio?.close();
  });

  it("spaces a burst from one number to its messages per second, across processes, with no 429", async () => {
    const from = (number: string) => `whatsapp:${number}`;
    const burst = Array.from({ length: 10 }, (_, i) => ({ to: `whatsapp:+1888000${String(i).padStart(4, "0")}`, from: from(HUB_NUMBER) }));
    const others = Array.from({ length: 3 }, (_, i) => ({
      to: `whatsapp:+1888100${String(i).padStart(4, "0")}`,
      from: from(OTHER_NUMBER),
    }));
    const started = Date.now();
    await Promise.all(
      // Stored through one; sent by the deliver workers of both.
      [...burst, ...others].map((m) => hubs[0].api("/api/twilio/messages", { body: { ...m, contentSid: TEMPLATE } })),
    );
    await waitFor(() => twilio.sends.length === 13, 60_000, "every message sent");
    const times = twilio.sends
      .filter((s) => s.from === from(HUB_NUMBER))
      .map((s) => s.receivedAt)
      .sort((a, b) => a - b);
    // 10 sends at 3 a second (a slot of 333.3 ms: not whole milliseconds, like the default 80's 12.5 ms), each in
    // its own slot after the one before, the first no earlier than the request: only k slots come before
    // started + 333.3k ms, so the (k+1)th send is never earlier. A busy machine may run a send late, never early
    // (20 ms for the clocks' granularity).
    for (const [k, time] of times.entries()) expect(time - started).toBeGreaterThanOrEqual((1000 / 3) * k - 20);
    // The other number has its own pace: its three went out without waiting for the burst.
    const otherTimes = twilio.sends.filter((s) => s.from === from(OTHER_NUMBER)).map((s) => s.receivedAt);
    expect(otherTimes.at(-1)! - started).toBeLessThan(times.at(-1)! - started);
    expect(twilio.attempts.every((a) => a.status === 201)).toBe(true);
  });
});
