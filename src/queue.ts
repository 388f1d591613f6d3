import { randomUUID } from "node:crypto";
import { type DefaultJobOptions, type Processor, Queue, Worker, type WorkerOptions } from "bullmq";
import type Redis from "ioredis";
import type { Logger } from "./logger";
import { isConnectionError } from "./redis";

export const ASK_QUEUE = "ask";
export const DELIVER_QUEUE = "deliver";

/** BullMQ's key prefix: `{name}` is a Redis Cluster hash tag, so all of a queue's keys share one slot. */
export const bullPrefix = (prefix: string) => `{${prefix}}`;

/**
 * Marks `prefix` as this database's (by its default org's id, which no other database has), and returns the
 * org id of the database whose hub had marked it before, if another: hubs of two databases under one prefix
 * take each other's jobs. A database created again (a deleted DATA_DIR) reads as another once.
 */
export async function claimQueuePrefix(redis: Redis, prefix: string, orgId: string): Promise<string | null> {
  // Kept a month past the last start: no key is left behind for good by a hub that is gone.
  const before = await redis.set(`${bullPrefix(prefix)}:database`, orgId, "EX", 30 * 24 * 3600, "GET");
  return before && before !== orgId ? before : null;
}

export interface AskJob {
  messageId: string;
  conversationId: string;
  /** The message's seq, as a string (JSON has no bigint): the worker answers the conversation up to it. */
  seq?: string;
  /** A channel's burst window (config *_BURST_MS): the job waits this long, and answers the burst it ends. */
  burstMs?: number;
}

export const askJob = (m: { id: string; conversationId: string; seq: bigint }): AskJob => ({
  messageId: m.id,
  conversationId: m.conversationId,
  seq: m.seq.toString(),
});

export const ASK_ATTEMPTS = 5;

/** One of the hub's queues, under its prefix; a failed job is kept a week, to be looked at on the dashboard. */
function hubQueue<T>(name: string, connection: Redis, prefix: string, jobs: DefaultJobOptions): Queue<T> {
  return new Queue<T>(name, {
    connection,
    prefix: bullPrefix(prefix),
    defaultJobOptions: { removeOnFail: { age: 7 * 24 * 3600 }, ...jobs },
  });
}

/** How a process works one of the hub's queues. */
export interface HubWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** How long a job stays locked by a worker that stopped answering; stalled jobs are looked for twice as often. */
  lockMs: number;
}

/**
 * A worker of one of the hub's queues, under its prefix. Connection errors are not logged: BullMQ
 * reconnects by itself, and would report each try.
 */
export function startHubWorker<T>(
  name: string,
  processor: Processor<T>,
  opts: HubWorkerOptions,
  logger: Logger,
  settings?: WorkerOptions["settings"],
): Worker<T> {
  const worker = new Worker<T>(name, processor, {
    connection: opts.connection,
    prefix: bullPrefix(opts.prefix),
    concurrency: opts.concurrency,
    lockDuration: opts.lockMs,
    stalledInterval: Math.max(1000, opts.lockMs / 2),
    ...(settings ? { settings } : {}),
  });
  worker.on("error", (err) => {
    if (!isConnectionError(err)) logger.error({ err: err.message, queue: name }, "worker error");
  });
  return worker;
}

export function createAskQueue(connection: Redis, prefix: string): Queue<AskJob> {
  return hubQueue(ASK_QUEUE, connection, prefix, {
    attempts: ASK_ATTEMPTS,
    backoff: { type: "exponential", delay: 1000 },
    // Kept a while so a duplicate add (same job id = message id) stays a no-op; the database is the record.
    removeOnComplete: { age: 3600, count: 50_000 },
  });
}

/** Enqueues the turn for a user message. The job id is the message id: adding it twice is a no-op. */
export async function enqueueTurn(queue: Queue<AskJob>, job: AskJob): Promise<void> {
  await enqueueTurns(queue, [job]);
}

/** Enqueues many turns in one round trip (Queue.addBulk); as enqueueTurn, each job's id is its message id. */
export async function enqueueTurns(queue: Queue<AskJob>, jobs: AskJob[]): Promise<undefined[]> {
  await queue.addBulk(jobs.map((job) => ({ name: "turn", data: job, opts: { jobId: job.messageId, delay: job.burstMs || undefined } })));
  return jobs.map(() => undefined);
}

/** The ask queue's job that asks the assistant again for a turn it could not be reached for. */
export const FOLLOW_UP = "follow-up";
export const followUpJobId = (turnId: string) => `${FOLLOW_UP}-${turnId}`;
// A follow-up gives up by time (MODEL_RETRY_FOR_MS), not by a count, as deliveries do.
const FOLLOW_UP_ATTEMPTS = 1_000_000;
/** The longest wait between two tries of a follow-up. */
export const FOLLOW_UP_MAX_BACKOFF_MS = 60_000;

/** Schedules the follow-up of a turn answered with the fallback; adding it twice is a no-op. */
export async function enqueueFollowUp(queue: Queue<AskJob>, job: AskJob): Promise<void> {
  await queue.add(FOLLOW_UP, job, {
    jobId: followUpJobId(job.messageId),
    // The assistant failed a moment ago, after its own retries: give it a moment before the first try.
    delay: 1000,
    attempts: FOLLOW_UP_ATTEMPTS,
    backoff: { type: FOLLOW_UP },
  });
}

/**
 * The ask queue's backlog, read from Redis at most every `everyMs`: accepts arriving while a read is under
 * way share it, so under load accept() pays a Redis round trip for it only twice a second or so. A burst
 * can overshoot the limit by what arrives within one interval.
 */
export class Backlog {
  private count = 0;
  private readAt = 0;
  private reading: Promise<number> | null = null;
  constructor(
    private readonly queue: Queue,
    private readonly everyMs = 500,
  ) {}

  async current(): Promise<number> {
    if (Date.now() - this.readAt <= this.everyMs) return this.count;
    this.reading ??= this.queue
      .getWaitingCount()
      .then((n) => {
        this.count = n;
        this.readAt = Date.now();
        return n;
      })
      // Redis away: accept() finds out when it enqueues, and keeps the message pending for the sweeper.
      .catch(() => this.count)
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}

/**
 * A BullMQ backoff strategy: exponential from one second with jitter, up to `maxMs`; or the Retry-After the
 * error carries (a provider's), also at most `maxMs`: one header asking for hours must not hold work that long.
 */
export const backoffUpTo =
  (maxMs: number) =>
  (attemptsMade: number, _type?: string, err?: Error): number => {
    const retryAfterMs = (err as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, maxMs);
    const ceiling = Math.min(maxMs, 1000 * 2 ** (attemptsMade - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  };

/** A reply to send through an API channel (Twilio); the job id is the reply's id. */
export interface DeliverJob {
  messageId: string;
  /** The send slot the job was delayed to (src/pace.ts). */
  slotAt?: number;
}

// The deliver worker gives a reply up by time (DELIVER_RETRY_FOR_MS), not by a count: ten tries spanned only
// minutes of a provider's outage. This bound is never meant to be reached first.
export const DELIVER_ATTEMPTS = 1_000_000;

export function createDeliverQueue(connection: Redis, prefix: string): Queue<DeliverJob> {
  return hubQueue(DELIVER_QUEUE, connection, prefix, {
    attempts: DELIVER_ATTEMPTS,
    // Computed by the deliver worker: exponential, or what the provider's Retry-After asks for.
    backoff: { type: "provider" },
    removeOnComplete: { age: 24 * 3600, count: 50_000 },
  });
}

/** A delivery's job that goes on later: it waits `delay` ms first, and sends in the slot it was delayed to (src/pace.ts) if it has one. */
export interface DeliverLater {
  delay: number;
  slotAt?: number;
}

/** A reply's deliver job: its id is the reply's, so adding it twice is a no-op. */
const deliverJob = (messageId: string, later?: DeliverLater) => ({
  name: "reply",
  data: { messageId, slotAt: later?.slotAt },
  opts: { jobId: messageId, delay: later && Math.max(0, later.delay) },
});

/** Hands a reply to the deliver queue; adding it twice is a no-op, and the worker skips parts already sent. */
export async function enqueueDelivery(queue: Queue<DeliverJob>, messageId: string, later?: DeliverLater): Promise<void> {
  const job = deliverJob(messageId, later);
  await queue.add(job.name, job.data, job.opts);
}

/** Hands many replies to the deliver queue in one round trip (Queue.addBulk), each as enqueueDelivery. */
export async function enqueueDeliveries(queue: Queue<DeliverJob>, messageIds: string[]): Promise<undefined[]> {
  await queue.addBulk(messageIds.map((messageId) => deliverJob(messageId)));
  return messageIds.map(() => undefined);
}

/**
 * Adds a job through `add` unless one with this id is waiting, delayed or running. One that ended (completed
 * or failed) is removed first: BullMQ ignores an add whose job id it still holds. Returns whether it added.
 */
export async function requeue(queue: Queue, jobId: string, add: () => Promise<unknown>): Promise<boolean> {
  const state = await queue.getJobState(jobId);
  if (state !== "unknown" && state !== "completed" && state !== "failed") return false;
  if (state !== "unknown") await queue.remove(jobId);
  await add();
  return true;
}

export const HANDOFF_WEBHOOK_QUEUE = "handoff-webhook";

/** A handoff event to POST to HANDOFF_WEBHOOK_URL (src/handoff-turns.ts HandoffEvent), tried until it is taken. */
export interface HandoffWebhookJob {
  event: object;
}

export function createHandoffWebhookQueue(connection: Redis, prefix: string): Queue<HandoffWebhookJob> {
  return hubQueue(HANDOFF_WEBHOOK_QUEUE, connection, prefix, {
    // About a day of tries, doubling from a second up to an hour apart.
    attempts: 30,
    backoff: { type: "webhook" },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
  });
}

/** Queues a handoff event for the webhook under an id of its own (the worker sends it as X-Hub-Delivery). */
export async function enqueueWebhook(queue: Queue<HandoffWebhookJob>, event: object): Promise<void> {
  await queue.add("event", { event }, { jobId: randomUUID() });
}

export const INGEST_QUEUE = "ingest";

/** A document to parse and index (job name `ingest`), or a URL document to fetch again (`refresh`). */
export interface IngestJob {
  documentId: string;
}

/** Tries of a document's ingest, counted in documents.attempts across jobs, sweeps and restarts. */
export const INGEST_ATTEMPTS = 3;
export const ingestJobId = (name: "ingest" | "refresh", documentId: string) => `${name}-${documentId}`;

export function createIngestQueue(connection: Redis, prefix: string): Queue<IngestJob> {
  return hubQueue(INGEST_QUEUE, connection, prefix, {
    attempts: INGEST_ATTEMPTS,
    backoff: { type: "exponential", delay: 2000 },
    removeOnComplete: { age: 3600, count: 10_000 },
  });
}

/** Adds the document's job unless one is waiting or running (requeue): adding it twice is a no-op. */
export async function enqueueIngest(queue: Queue<IngestJob>, name: "ingest" | "refresh", documentId: string): Promise<boolean> {
  const jobId = ingestJobId(name, documentId);
  return requeue(queue, jobId, () => queue.add(name, { documentId }, { jobId }));
}
