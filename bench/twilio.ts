import { type FakeTwilio, startFakeTwilio } from "../test/fakes/twilio-server";
import { twilioEnv } from "../test/support/twilio";
import { type BenchOptions, type Layout, load, type Row, serviceCounters, sleep, startLayout } from "./harness";
import type { LoadSpec } from "./load";

// Twilio's incoming-message webhook at a steady 500 messages/s, from many WhatsApp users to one number bound
// to the default assistant: how fast the hub acknowledges each (Twilio waits on it), then whether every
// message gets its reply sent to the fake Twilio API, and at what rate those sends arrive.

const RATE = 500;
const HUB_NUMBER = "+14155238886";
const USERS = 1000;
// Twilio sends each webhook when its message comes, whatever the acks before it: as many connections as a
// second's messages, so that webhooks wait on the hub rather than on a free connection.
const CONNECTIONS = RATE;
// The replies are all sent, or will not be, once no send has come for this long.
const QUIET_MS = 15_000;

/** Waits until the fake has `count` sends, or none came for QUIET_MS; returns when the last one came. */
async function sendsReach(fake: FakeTwilio, count: number): Promise<number> {
  let [seen, at] = [fake.sends.length, Date.now()];
  while (seen < count && Date.now() - at < QUIET_MS) {
    await sleep(100);
    if (fake.sends.length > seen) [seen, at] = [fake.sends.length, Date.now()];
  }
  return fake.sends.at(-1)?.receivedAt ?? Date.now();
}

async function bindNumber(layout: Layout, number: string) {
  const res = await fetch(`${layout.gateways[0].url}/api/twilio/numbers/${encodeURIComponent(number)}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${layout.key}`, "content-type": "application/json" },
    body: JSON.stringify({ assistant: "default" }),
  });
  if (!res.ok) throw new Error(`binding ${number} failed: ${res.status} ${await res.text()}`);
}

export async function twilioBenchmark(opts: BenchOptions, rows: Row[]) {
  const fake = await startFakeTwilio();
  // Paced (src/pace.ts) at more than the figure's rate: the pacing's cost is measured, its wait is not.
  const layout = await startLayout("all", { ...twilioEnv(fake), TWILIO_WHATSAPP_MPS: "1000" });
  try {
    await bindNumber(layout, HUB_NUMBER);
    const webhooks = (seconds: number): LoadSpec => ({
      url: `${layout.gateways[0].url}/webhooks/twilio`,
      kind: "twilio",
      connections: CONNECTIONS,
      seconds,
      rate: RATE,
      twilio: { authToken: fake.authToken, to: HUB_NUMBER, users: USERS },
    });
    const warmUp = await load(webhooks(1)); // warm up, as for the ask figure
    await sendsReach(fake, warmUp.requests);
    const before = fake.sends.length;
    const counted = await serviceCounters(layout);

    const started = Date.now();
    const acks = await load(webhooks(opts.seconds));
    const messages = RATE * opts.seconds;
    const lastSendAt = await sendsReach(fake, before + messages);
    const sends = fake.sends.length - before;
    // A backend reports its commits to pg_stat_database within a second or so (as for the ask figure).
    await sleep(2000);
    const ended = await serviceCounters(layout);
    const sendsPerSecond = sends / ((lastSendAt - started) / 1000);
    const { p50, p99 } = acks.latencyMs;
    // Each send names its part (the status callback's `part`): a part sent twice is a message answered twice.
    const parts = fake.sends.map((send) => send.statusCallback);
    const duplicates = parts.length - new Set(parts).size;
    const answered = sends === messages && duplicates === 0 && acks.non2xx === 0 && acks.errors === 0;
    rows.push({
      // Latency counts from when each webhook was due, so a hub that acks fewer than RATE a second shows it there.
      figure: `Twilio webhook ack p50 / p99 at ${RATE}/s; replies sent/s to the fake Twilio`,
      hub: `${p50.toFixed(1)} / ${p99.toFixed(1)} ms (${acks.perSecond.toFixed(0)} acks/s); ${sendsPerSecond.toFixed(0)} sends/s`,
      baseline: "none",
      ratio: null,
      target: "p99 < 50 ms; every message answered",
      met: p99 < 50 && answered,
      detail: {
        messages,
        sends,
        duplicates,
        answered,
        webhooksPerSecond: acks.perSecond,
        latencyMs: acks.latencyMs,
        non2xx: acks.non2xx,
        errors: acks.errors,
        resent: acks.resent,
        secondsToLastSend: (lastSendAt - started) / 1000,
        // Postgres commits and Redis commands (those BullMQ's scripts run included) per message, to its reply sent.
        perMessage: {
          commits: ((ended.commits - counted.commits) / messages).toFixed(2),
          redisCommands: ((ended.redisCommands - counted.redisCommands) / messages).toFixed(1),
        },
      },
    });
  } finally {
    await layout.stop();
    await fake.close();
  }
}
