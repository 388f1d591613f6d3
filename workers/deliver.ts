import type { Job, Queue, Worker } from "bullmq";
import { type ChannelRegistry, type ChannelSender, templateOf } from "../src/channels";
import type { Db } from "../src/db/database";
import type { Logger } from "../src/logger";
import { metrics } from "../src/metrics";
import { DeliveryError, type DeliveryStatements, recordAttemptError, recordPartStatus, UNSENT, unsentHeads } from "../src/outbound";
import type { SendPace } from "../src/pace";
import { every, type Periodic } from "../src/periodic";
import {
  backoffUpTo,
  DELIVER_QUEUE,
  type DeliverJob,
  type DeliverLater,
  enqueueDelivery,
  type HubWorkerOptions,
  requeue,
  startHubWorker,
} from "../src/queue";
import { closedSince, holdOutsideWindow } from "../src/window";

// Every business-side message stored UNSENT (a reply, a follow-up, or any other message to the user) goes out
// here, through the sender of the channel its reply address names (src/channels.ts: addressOf, the registry):
// at once from the process that stored it when that process delivers (DirectDeliveries), else by a deliver job;
// a retry, or a send slot over a second ahead, is always a job. The rules below hold for both.
//
// Idempotency: each part of a reply is a row written before it is sent, and a part that has a provider id
// (recorded from the send's answer, or from a status callback, whose URL names the part) is never sent
// again. So a retried, duplicated or recovered delivery sends only what the provider has not accepted, and a
// part whose send is under way (claimed in Postgres, for SEND_CLAIM_MS) is not sent by a second one meanwhile. The
// one window left is a crash between the provider accepting a part and either record reaching the database.
//
// Order: only the first unsent reply of a conversation is sent; a delivery of a later one ends at once, after
// making sure the first one has a job or is being sent here. Whoever finishes a reply hands the conversation
// on: it queues the next unsent reply (unless that one is being sent here). Nothing waits by polling; a
// hand-off that finds the next reply's job still finishing leaves it to the outbox check. A delivery lost at
// any point (a crash, Redis losing its data) is found again by the outbox check below, from Postgres: the first
// unsent reply of each conversation has a job or is being sent.
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
  /**
   * The messages this process is sending without a job (DirectDeliveries), once each was found its
   * conversation's first unsent: its own send hands the conversation on, so it needs no job meanwhile.
   */
  sendingHere: Set<string>;
}

/** How a send that failed for now is tried again. */
export interface DeliverRetry {
  /** A reply is tried until this long after it was written; then it is marked failed. */
  forMs: number;
  /** The longest wait between two tries, a provider's Retry-After included. */
  maxBackoffMs: number;
}

/** What a delivery needs of whoever runs it: a deliver job, or the process that stored the reply (DirectDeliveries). */
interface Run {
  /** No try comes after this one (its job's last attempt). */
  lastTry: boolean;
  /** Resolves once the reply may be sent from `from` at `perSecond` (SendPace); throws to go on later. */
  pace(from: string, perSecond: number): Promise<void>;
  /** Told once the message is found its conversation's first unsent: this run sends it and hands on. */
  sending?(messageId: string): void;
}

export function createDeliverProcessor(deps: DeliverDeps, retry: DeliverRetry) {
  return (job: Job<DeliverJob>, token?: string): Promise<void> =>
    deliver(deps, retry, job.data.messageId, {
      lastTry: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      pace: async (from, perSecond) => {
        if (deps.pace) await deps.pace.take(job, token, from, perSecond);
      },
    });
}

/** Sends a message's parts not sent yet, if it is its conversation's first unsent, then hands the conversation on. */
async function deliver(deps: DeliverDeps, retry: DeliverRetry, messageId: string, run: Run): Promise<void> {
  const { prisma, statements } = deps;
  const reply = await statements.head(messageId);
  if (!reply) return;
  // Sent or refused already (this job may be the retry of one that died before handing on), or not a
  // message of an API channel at all.
  if (reply.status !== UNSENT) return handOn(deps, reply.conversationId);
  if (reply.firstUnsent !== reply.id) {
    // An earlier reply is still on its way: this one is queued again when that one is done.
    if (reply.firstUnsent) await requeueDelivery(deps, reply.firstUnsent);
    return;
  }
  run.sending?.(reply.id);
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
    if (sender?.sendsPerSecond && address) await run.pace(address.from, sender.sendsPerSecond(address));
    // A claim: a second delivery of this reply (a job added by the outbox or a hand-on while another process
    // sends it, or after Redis lost the one running) must not send a part whose send is under way. Thrown
    // outside the try, so the claim stays.
    if (!(await statements.claim(part.id))) throw new DeliveryError(`part ${part.id} is being sent by another delivery`, false);
    let sent: Awaited<ReturnType<ChannelSender["send"]>>;
    try {
      if (!sender || !address) throw new DeliveryError(`message ${reply.id}: no channel of this hub sends to its address`, true);
      sent = await sender.send(part, address, template);
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, false);
      const last = run.lastTry || Date.now() - reply.createdAt.getTime() >= retry.forMs;
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
    // record is tried again for a while (the database busy); should it still fail, the delivery fails with the
    // claim kept, so no retry sends the part within SEND_CLAIM_MS, and its status callback records its id.
    await recordSent(deps, part.id, sent);
    metrics.deliveries.inc({ channel, outcome: "sent" });
  }
  await handOn(deps, reply.conversationId);
}

/** The longest wait for a send slot that a delivery without a job waits out itself. */
const WAIT_HERE_MS = 1000;

/** A delivery run without a job found its send slot ahead: its job waits for it in the delayed set. */
class SlotAhead extends Error {
  constructor(readonly at: number) {
    super("the send slot is ahead");
  }
}

/**
 * Sends messages from the process that stored them, without a job: a turn's reply goes out as soon as it is
 * stored, and the deliver queue keeps what has to wait (a retry, a send slot ahead), each in a job as before.
 * A crash mid-send loses nothing: the reply stays unsent, and the outbox check gives it its job.
 */
export class DirectDeliveries {
  private readonly running = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly deps: DeliverDeps,
    private readonly retry: DeliverRetry,
    /** Sends under way at most; past it, a message gets its job. */
    private readonly limit: number,
  ) {}

  /**
   * Starts delivering the message here (once: a delivery of it under way here is enough); false when it should
   * get a job instead (too many under way, closing).
   */
  start(messageId: string): boolean {
    if (this.running.has(messageId)) return true;
    if (this.closed || this.running.size >= this.limit) return false;
    const run = this.run(messageId).finally(() => {
      this.deps.sendingHere.delete(messageId);
      this.running.delete(messageId);
    });
    this.running.set(messageId, run);
    return true;
  }

  private async run(messageId: string): Promise<void> {
    const { pace } = this.deps;
    try {
      await deliver(this.deps, this.retry, messageId, {
        lastTry: false,
        pace: async (from, perSecond) => {
          const wait = pace ? await pace.reserve(from, perSecond) : 0;
          // Replies sent at once from one number queue for slots a few ms apart: waited for here, as a job
          // would hold its own slot for that long. A longer wait goes to the delayed set.
          if (wait > WAIT_HERE_MS) throw new SlotAhead(Date.now() + wait);
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        },
        sending: (id) => this.deps.sendingHere.add(id),
      });
    } catch (err) {
      this.deps.sendingHere.delete(messageId);
      // As its job's first try would have ended: delayed to its slot, or retried after the first backoff.
      const later: DeliverLater =
        err instanceof SlotAhead
          ? { delay: err.at - Date.now(), slotAt: err.at }
          : { delay: backoffUpTo(this.retry.maxBackoffMs)(1, undefined, err as Error) };
      if (!(err instanceof SlotAhead)) this.deps.logger.warn({ reply: messageId, err: String(err) }, "delivery goes on in a job");
      await requeueDelivery(this.deps, messageId, later).catch((e) =>
        this.deps.logger.warn({ reply: messageId, err: String(e) }, "delivery job not queued; the outbox check queues it"),
      );
    }
  }

  /** Takes no more (a message handed over from now on gets a job), and waits for the sends under way. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running.values()]);
  }
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

/**
 * Gives a reply a delivery job unless one is waiting or running (see requeue), or this process is sending it
 * without one; `later`: delayed, to its send slot.
 */
const requeueDelivery = async (deps: DeliverDeps, messageId: string, later?: DeliverLater) =>
  !deps.sendingHere.has(messageId) && requeue(deps.queue, messageId, () => enqueueDelivery(deps.queue, messageId, later));

/** Queues the conversation's next reply to send, if it has one and no job is on it. */
async function handOn(deps: DeliverDeps, conversationId: string): Promise<void> {
  const next = await deps.statements.firstUnsent(conversationId);
  if (next) await requeueDelivery(deps, next);
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
 * The outbox check: the first unsent reply of each conversation, written over `afterMs` ago, gets a job if it
 * has none, or only one that ended (completed or failed while parts remain), and is not being sent here. Its
 * delivery was lost (Redis restarted empty, the process died between storing the reply and sending or queueing
 * it, or between finishing the reply before it and handing on), however long ago the reply was written. Reads
 * OUTBOX_BATCH conversations after `cursor` and returns where to go on from (the start once all were read),
 * so a long outage with many conversations waiting is read a batch a round, never all at once.
 */
export async function outboxOnce(deps: DeliverDeps, afterMs: number, cursor = FIRST_UUID): Promise<{ moved: number; cursor: string }> {
  const heads = await unsentHeads(deps.prisma, cursor, OUTBOX_BATCH);
  const before = Date.now() - afterMs;
  let moved = 0;
  for (const { id, createdAt } of heads) {
    if (createdAt.getTime() < before && (await requeueDelivery(deps, id))) moved++;
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
