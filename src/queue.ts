import { Queue } from "bullmq";
import type Redis from "ioredis";

export const ASK_QUEUE = "ask";
export const DELIVER_QUEUE = "deliver";

/** BullMQ's key prefix: `{name}` is a Redis Cluster hash tag, so all of a queue's keys share one slot. */
export const bullPrefix = (prefix: string) => `{${prefix}}`;

export interface AskJob {
  messageId: string;
  conversationId: string;
}

export const ASK_ATTEMPTS = 5;

export function createAskQueue(connection: Redis, prefix: string): Queue<AskJob> {
  return new Queue<AskJob>(ASK_QUEUE, {
    connection,
    prefix: bullPrefix(prefix),
    defaultJobOptions: {
      attempts: ASK_ATTEMPTS,
      backoff: { type: "exponential", delay: 1000 },
      // Kept a while so a duplicate add (same job id = message id) stays a no-op; the database is the record.
      removeOnComplete: { age: 3600, count: 50_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  });
}

/** Enqueues the turn for a user message. The job id is the message id: adding it twice is a no-op. */
export async function enqueueTurn(queue: Queue<AskJob>, job: AskJob): Promise<void> {
  await queue.add("turn", job, { jobId: job.messageId });
}

/**
 * The ask queue's backlog as last read. Reads happen at most every `everyMs`, in the background, so that
 * accept() pays no Redis round trip for it; a burst can overshoot the limit by what arrives in that time.
 */
export class Backlog {
  private count = 0;
  private readAt = 0;
  private reading = false;
  constructor(
    private readonly queue: Queue,
    private readonly everyMs = 500,
  ) {}

  current(): number {
    if (!this.reading && Date.now() - this.readAt > this.everyMs) {
      this.reading = true;
      this.queue
        .getWaitingCount()
        .then((n) => {
          this.count = n;
        })
        .catch(() => {})
        .finally(() => {
          this.reading = false;
          this.readAt = Date.now();
        });
    }
    return this.count;
  }
}
