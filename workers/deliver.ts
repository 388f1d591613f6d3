import { DelayedError, type Job, type Queue, Worker } from "bullmq";
import type Redis from "ioredis";
import type { Db } from "../src/db/database";
import type { Logger } from "../src/logger";
import { metrics } from "../src/metrics";
import { type ApiSender, DeliveryError, partsOf, recordAttemptError, recordPartStatus } from "../src/outbound";
import { bullPrefix, DELIVER_QUEUE, type DeliverJob, enqueueDelivery } from "../src/queue";
import { isConnectionError } from "../src/redis";

// Idempotency: each part of a reply is a row written before it is sent, and a part that has a provider id
// (recorded from the send's answer, or from a status callback, whose URL names the part) is never sent
// again. So a retried, duplicated or recovered job sends only what the provider has not accepted. The one
// window left is a crash between the provider accepting a part and either record reaching the database.
//
// Order: a reply waits while an earlier reply of its conversation is still being sent, and its parts go out
// one after the other, each once the provider accepted the one before.
//
// Retries: network errors, 5xx and 429 are retried with exponential backoff, or after the provider's
// Retry-After, until `retry.forMs` after the reply was written (a provider outage lasts as long as it lasts;
// a count of tries would give up after minutes); then, or on a permanent error, the error is recorded on the
// part and the reply, and ends the job.

export interface DeliverDeps {
  prisma: Db;
  sender: ApiSender;
  logger: Logger;
}

/** How a send that failed for now is tried again. */
export interface DeliverRetry {
  /** A reply is tried until this long after it was written; then it is marked failed. */
  forMs: number;
  /** The longest wait between two tries, unless the provider's Retry-After asks for longer. */
  maxBackoffMs: number;
}

const WAIT_FOR_EARLIER_MS = 200;
// An earlier reply neither written nor tried for this long is not waited for any more (its delivery is stuck
// or lost). One still being retried is tried at least every maxBackoffMs (a Retry-After aside): waited for.
const ORDER_WINDOW_MS = 10 * 60_000;

export function createDeliverProcessor(deps: DeliverDeps, retry: DeliverRetry) {
  const { prisma, sender } = deps;
  const orderWindowMs = Math.max(ORDER_WINDOW_MS, 2 * retry.maxBackoffMs);
  return async (job: Job<DeliverJob>, token?: string): Promise<void> => {
    const reply = await prisma.message.findUnique({
      where: { id: job.data.messageId },
      include: { inReplyTo: true, conversation: { select: { channel: true } } },
    });
    if (!reply?.inReplyTo) return;
    if (await earlierOnItsWay(prisma, reply, orderWindowMs)) {
      await job.moveToDelayed(Date.now() + WAIT_FOR_EARLIER_MS, token);
      throw new DelayedError();
    }
    const { channel } = reply.conversation;
    const parts = await partsOf(prisma, reply.id, sender.split(reply.content));
    for (const part of parts) {
      if (part.providerId) continue;
      // A part refused for good: the later ones would only be refused too, or arrive without their start.
      if (part.status === "failed") return;
      await prisma.outboundPart.update({ where: { id: part.id }, data: { attemptedAt: new Date() } });
      try {
        const sent = await sender.send(part, reply.inReplyTo);
        await recordPartStatus(prisma, { partId: part.id }, sent);
        metrics.deliveries.inc({ channel, outcome: "sent" });
      } catch (err) {
        const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, false);
        const outOfTime = Date.now() - reply.createdAt.getTime() >= retry.forMs;
        const last = outOfTime || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        deps.logger.warn({ reply: reply.id, part: part.position, err: e.message, permanent: e.permanent }, "send failed");
        metrics.deliveries.inc({ channel, outcome: e.permanent || last ? "failed" : "retried" });
        if (e.permanent || last) {
          await recordPartStatus(prisma, { partId: part.id }, { status: "failed", error: e.message });
          return;
        }
        await recordAttemptError(prisma, part.id, e.message);
        throw e;
      }
    }
  };
}

async function earlierOnItsWay(prisma: Db, reply: { conversationId: string; seq: bigint }, windowMs: number): Promise<boolean> {
  const since = new Date(Date.now() - windowMs);
  const earlier = await prisma.message.findFirst({
    where: {
      conversationId: reply.conversationId,
      role: "assistant",
      inReplyToId: { not: null },
      seq: { lt: reply.seq },
      // Not yet split into parts, or some parts still to send and none refused for good; written lately, or
      // tried lately (a reply retried through a long outage is still on its way).
      OR: [
        { createdAt: { gt: since }, outboundParts: { none: {} } },
        {
          AND: [
            { outboundParts: { some: { providerId: null, status: "pending" } } },
            { outboundParts: { none: { status: "failed" } } },
            { OR: [{ createdAt: { gt: since } }, { outboundParts: { some: { attemptedAt: { gt: since } } } }] },
          ],
        },
      ],
    },
    select: { id: true },
  });
  return earlier !== null;
}

/** Exponential from one second with jitter up to `maxMs`, or the provider's Retry-After when it gave one. */
export const deliverBackoff =
  (maxMs: number) =>
  (attemptsMade: number, _type?: string, err?: Error): number => {
    if (err instanceof DeliveryError && err.retryAfterMs !== undefined) return err.retryAfterMs;
    const ceiling = Math.min(maxMs, 1000 * 2 ** (attemptsMade - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  };

export interface DeliverWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  lockMs: number;
  retry: DeliverRetry;
}

export function startDeliverWorker(deps: DeliverDeps, opts: DeliverWorkerOptions): Worker<DeliverJob> {
  const worker = new Worker<DeliverJob>(DELIVER_QUEUE, createDeliverProcessor(deps, opts.retry), {
    connection: opts.connection,
    prefix: bullPrefix(opts.prefix),
    concurrency: opts.concurrency,
    lockDuration: opts.lockMs,
    stalledInterval: Math.max(1000, opts.lockMs / 2),
    settings: { backoffStrategy: deliverBackoff(opts.retry.maxBackoffMs) },
  });
  worker.on("error", (err) => {
    if (!isConnectionError(err)) deps.logger.error({ err: err.message }, "deliver worker error");
  });
  return worker;
}

/**
 * The outbox check: replies of the sender's channels that have no parts a while after they were stored
 * were never handed to the deliver queue (the process died between storing and enqueueing), or their job
 * failed before it could record anything (the database was away). They are enqueued again.
 */
export async function outboxOnce(prisma: Db, queue: Queue<DeliverJob>, channels: string[], afterMs: number): Promise<number> {
  const stale = await prisma.message.findMany({
    where: {
      role: "assistant",
      inReplyToId: { not: null },
      // A reply keeps the status it was stored with until a part is recorded: with the time window, this
      // reads a range of the (status, created_at) index rather than every reply ever stored.
      status: "sent",
      createdAt: { lt: new Date(Date.now() - afterMs), gt: new Date(Date.now() - ORDER_WINDOW_MS) },
      conversation: { channel: { in: channels } },
      outboundParts: { none: {} },
    },
    orderBy: { seq: "asc" },
    take: 500,
    select: { id: true },
  });
  let moved = 0;
  for (const { id } of stale) {
    const state = await queue.getJobState(id);
    if (state === "failed" || state === "completed") await (await queue.getJob(id))?.remove();
    if (state === "unknown" || state === "failed" || state === "completed") {
      await enqueueDelivery(queue, id);
      moved++;
    }
  }
  return moved;
}

export function startOutbox(deps: DeliverDeps, queue: Queue<DeliverJob>, opts: { intervalMs: number; afterMs: number }) {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const moved = await outboxOnce(deps.prisma, queue, deps.sender.channels, opts.afterMs);
      if (moved) deps.logger.info({ moved }, "outbox handed replies to the deliver queue");
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, "outbox check failed; next one in a moment");
    } finally {
      running = false;
    }
  }, opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
