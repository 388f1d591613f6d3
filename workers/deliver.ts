import type { Job, Queue, Worker } from "bullmq";
import { type ChannelRegistry, type ChannelSender, templateOf } from "../src/channels";
import type { Db } from "../src/db/database";
import type { Logger } from "../src/logger";
import { metrics } from "../src/metrics";
import { DeliveryError, type DeliveryStatements, recordAttemptError, recordPartStatus, UNSENT, unsentHeads } from "../src/outbound";
import type { SendPace } from "../src/pace";
import { every, type Periodic } from "../src/periodic";
import { backoffUpTo, DELIVER_QUEUE, type DeliverJob, enqueueDelivery, type HubWorkerOptions, requeue, startHubWorker } from "../src/queue";
import { closedSince, holdOutsideWindow } from "../src/window";

// Every business-side message stored UNSENT (a reply, a follow-up, or any other message to the user) goes out
// here, through the sender of the channel its reply address names (src/channels.ts: addressOf, the registry).
//
// Idempotency: each part of a reply is a row written before it is sent, and a part that has a provider id
// (recorded from the send's answer, or from a status callback, whose URL names the part) is never sent
// again. So a retried, duplicated or recovered job sends only what the provider has not accepted, and a part
// whose send is under way (claimed in Postgres, for SEND_CLAIM_MS) is not sent by a second job meanwhile. The
// one window left is a crash between the provider accepting a part and either record reaching the database.
//
// Order: only the first unsent reply of a conversation is sent; a job for a later one ends at once, after
// making sure the first one has a job. Whoever finishes a reply hands the conversation on: it queues the next
// unsent reply. Nothing waits by polling; a hand-off that finds the next reply's job still finishing leaves it
// to the outbox check. A job lost at any point (a crash, Redis losing its data) is found
// again by the outbox check below, from Postgres: the first unsent reply of each conversation has a job.
//
// Retries: network errors, 5xx and 429 are retried with exponential backoff, or after the provider's
// Retry-After (at most maxBackoffMs either way), until `retry.forMs` after the reply was written (a provider
// outage lasts as long as it lasts; a count of tries would give up after minutes); then, or on a permanent
// error, the error is recorded on the part and the reply, and ends the job.

export interface DeliverDeps {
  prisma: Db;
  /** The delivery's own statements, five a reply of one part, each shared by the deliveries running at once (src/outbound.ts). */
  statements: DeliveryStatements;
  /** Where each message's sender is looked up, by its reply address. */
  channels: ChannelRegistry;
  /** The deliver queue, to hand a conversation on to its next reply. */
  queue: Queue<DeliverJob>;
  logger: Logger;
  /** Spaces the sends from each number to its provider's throughput (ChannelSender.sendsPerSecond). */
  pace?: SendPace;
}

/** How a send that failed for now is tried again. */
export interface DeliverRetry {
  /** A reply is tried until this long after it was written; then it is marked failed. */
  forMs: number;
  /** The longest wait between two tries, a provider's Retry-After included. */
  maxBackoffMs: number;
}

export function createDeliverProcessor(deps: DeliverDeps, retry: DeliverRetry) {
  const { prisma, statements } = deps;
  return async (job: Job<DeliverJob>, token?: string): Promise<void> => {
    const reply = await statements.head(job.data.messageId);
    if (!reply) return;
    // Sent or refused already (this job may be the retry of one that died before handing on), or not a
    // message of an API channel at all.
    if (reply.status !== UNSENT) return handOn(deps, reply.conversationId);
    if (reply.firstUnsent !== reply.id) {
      // An earlier reply is still on its way: this one is queued again when that one is done.
      if (reply.firstUnsent) await requeueDelivery(deps.queue, reply.firstUnsent);
      return;
    }
    // A reply, or a follow-up, is addressed as its turn came; another message as the conversation's last did.
    const { channel, replyAddress: address } = reply;
    const sender = address && deps.channels.senderFor(address.via);
    // A template goes out at any time; a free-form message only within the user's window (src/window.ts).
    const template = templateOf(reply);
    const closed = sender && address && !template ? closedSince(reply.lastInboundAt, sender.freeFormWindowMs?.(address) ?? null) : null;
    if (closed && sender && address) {
      await holdOutsideWindow(prisma, reply, sender, address, closed);
      return handOn(deps, reply.conversationId);
    }
    const parts = await statements.partsOf(reply.id, sender && !template ? sender.split(reply.content, address) : [reply.content]);
    for (const part of parts) {
      if (part.providerId) continue;
      // A part refused for good: the later ones would only be refused too, or arrive without their start.
      if (part.status === "failed") break;
      if (deps.pace && sender?.sendsPerSecond && address) await deps.pace.take(job, token, address.from, sender.sendsPerSecond(address));
      // A claim: a second delivery of this reply (its job added again by the outbox after Redis lost the one
      // running) must not send a part whose send is under way. Thrown outside the try, so the claim stays.
      if (!(await statements.claim(part.id))) throw new DeliveryError(`part ${part.id} is being sent by another delivery`, false);
      let sent: Awaited<ReturnType<ChannelSender["send"]>>;
      try {
        if (!sender || !address) throw new DeliveryError(`message ${reply.id}: no channel of this hub sends to its address`, true);
        sent = await sender.send(part, address, template);
      } catch (err) {
        const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, false);
        const outOfTime = Date.now() - reply.createdAt.getTime() >= retry.forMs;
        const last = outOfTime || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        deps.logger.warn({ reply: reply.id, part: part.position, err: e.message, permanent: e.permanent }, "send failed");
        if (e.reason === "outside_window" && sender && address && !template) {
          await recordAttemptError(prisma, part.id, e.message);
          await holdOutsideWindow(prisma, reply, sender, address, e.message);
          break;
        }
        metrics.deliveries.inc({ channel, outcome: e.permanent || last ? "failed" : "retried" });
        if (!e.permanent && !last) {
          await recordAttemptError(prisma, part.id, e.message);
          throw e;
        }
        await recordPartStatus(prisma, { partId: part.id }, { status: "failed", error: e.message });
        break;
      }
      // The provider has the part: whatever happens to this record, the part must not be sent again. The
      // record is tried again for a while (the database busy); should it still fail, the job fails with the
      // claim kept, so no retry sends the part within SEND_CLAIM_MS, and its status callback records its id.
      await recordSent(deps, part.id, sent);
      metrics.deliveries.inc({ channel, outcome: "sent" });
    }
    await handOn(deps, reply.conversationId);
  };
}

const RECORD_ATTEMPTS = 5;

/** Records a part the provider took. Seen under load: the database too busy to start the record's transaction. */
async function recordSent(deps: DeliverDeps, partId: string, sent: { providerId: string; status: string }) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.statements.record(partId, sent);
    } catch (err) {
      deps.logger.warn({ part: partId, providerId: sent.providerId, attempt, err: (err as Error).message }, "a sent part not recorded yet");
      if (attempt >= RECORD_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, attempt * 500));
    }
  }
}

/** Gives a reply a delivery job unless one is waiting or running (see requeue). */
const requeueDelivery = (queue: Queue<DeliverJob>, messageId: string) => requeue(queue, messageId, () => enqueueDelivery(queue, messageId));

/** Queues the conversation's next reply to send, if it has one and no job is on it. */
async function handOn(deps: DeliverDeps, conversationId: string): Promise<void> {
  const next = await deps.statements.firstUnsent(conversationId);
  if (next) await requeueDelivery(deps.queue, next);
}

export interface DeliverWorkerOptions extends HubWorkerOptions {
  retry: DeliverRetry;
}

export function startDeliverWorker(deps: DeliverDeps, opts: DeliverWorkerOptions): Worker<DeliverJob> {
  return startHubWorker(DELIVER_QUEUE, createDeliverProcessor(deps, opts.retry), opts, deps.logger, {
    backoffStrategy: backoffUpTo(opts.retry.maxBackoffMs),
  });
}

const OUTBOX_BATCH = 500;
const FIRST_UUID = "00000000-0000-0000-0000-000000000000";

/**
 * The outbox check: the first unsent reply of each conversation, written over
 * `afterMs` ago, gets a job if it has none, or only one that ended (completed or failed while parts remain).
 * Its job was lost (Redis restarted empty, the process died between storing the reply and queueing it, or
 * between finishing the reply before it and handing on), however long ago the reply was written. Reads
 * OUTBOX_BATCH conversations after `cursor` and returns where to go on from (the start once all were read),
 * so a long outage with many conversations waiting is read a batch a round, never all at once.
 */
export async function outboxOnce(deps: DeliverDeps, afterMs: number, cursor = FIRST_UUID): Promise<{ moved: number; cursor: string }> {
  const heads = await unsentHeads(deps.prisma, cursor, OUTBOX_BATCH);
  const before = Date.now() - afterMs;
  let moved = 0;
  for (const { id, createdAt } of heads) {
    if (createdAt.getTime() < before && (await requeueDelivery(deps.queue, id))) moved++;
  }
  return { moved, cursor: heads.length < OUTBOX_BATCH ? FIRST_UUID : (heads.at(-1)?.conversationId ?? FIRST_UUID) };
}

/** The outbox check every intervalMs, over every channel's unsent messages, a batch a round. */
export function startOutbox(deps: DeliverDeps, opts: { intervalMs: number; afterMs: number }): Periodic {
  let cursor = FIRST_UUID;
  return every(
    opts.intervalMs,
    async () => {
      const round = await outboxOnce(deps, opts.afterMs, cursor);
      cursor = round.cursor;
      if (round.moved) deps.logger.info({ moved: round.moved }, "outbox handed replies to the deliver queue");
    },
    (err) => deps.logger.warn({ err: err.message }, "outbox check failed; next one in a moment"),
  );
}
