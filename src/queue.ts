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
