import { createHmac } from "node:crypto";
import { type Job, Worker } from "bullmq";
import type Redis from "ioredis";
import type { Logger } from "../src/logger";
import { backoffUpTo, bullPrefix, HANDOFF_WEBHOOK_QUEUE, type HandoffWebhookJob } from "../src/queue";
import { isConnectionError } from "../src/redis";

// Idempotency: each event is one job with an id of its own, sent as X-Hub-Delivery; a retried job sends the
// same body and id again, so the integrator can drop a delivery it took already (at least once, not exactly).

export interface HandoffWebhook {
  url: string;
  secret: string;
  timeoutMs?: number;
}

const WEBHOOK_MAX_BACKOFF_MS = 3600_000;
const WEBHOOK_TIMEOUT_MS = 10_000;

/** The signature header's value: the hex HMAC-SHA256 of the body, keyed with the secret. */
export const signature = (secret: string, body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

export function createWebhookProcessor(hook: HandoffWebhook) {
  return async (job: Job<HandoffWebhookJob>): Promise<void> => {
    const body = JSON.stringify(job.data.event);
    const res = await fetch(hook.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-hub-signature-256": signature(hook.secret, body),
        "x-hub-event": String((job.data.event as { type?: string }).type),
        "x-hub-delivery": String(job.id),
      },
      body,
      signal: AbortSignal.timeout(hook.timeoutMs ?? WEBHOOK_TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`the handoff webhook answered ${res.status}`);
  };
}

export function startWebhookWorker(hook: HandoffWebhook, opts: { connection: Redis; prefix: string; logger: Logger }) {
  const worker = new Worker<HandoffWebhookJob>(HANDOFF_WEBHOOK_QUEUE, createWebhookProcessor(hook), {
    connection: opts.connection,
    prefix: bullPrefix(opts.prefix),
    concurrency: 10,
    settings: { backoffStrategy: backoffUpTo(WEBHOOK_MAX_BACKOFF_MS) },
  });
  worker.on("failed", (job, err) => opts.logger.warn({ job: job?.id, err: err.message }, "handoff webhook failed; retried"));
  worker.on("error", (err) => {
    if (!isConnectionError(err)) opts.logger.error({ err: err.message }, "handoff webhook worker error");
  });
  return worker;
}
