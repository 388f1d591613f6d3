import type { Queue } from "bullmq";
import { RETRYING } from "../src/conversations";
import { type Db, isDatabaseUnavailable } from "../src/db/database";
import { expireWaiting } from "../src/handoff";
import { eventOf } from "../src/handoff-turns";
import type { Logger } from "../src/logger";
import { every } from "../src/periodic";
import { type AskJob, askJob, enqueueFollowUp, enqueueTurn, followUpJobId, type IngestJob, requeue } from "../src/queue";
import { failTurn, type TurnDeps } from "../src/turns";
import { sweepDocuments } from "./ingest";

// Idempotency: it only adds jobs whose id is the message id (a no-op while the job exists) and ends turns
// through failTurn (at most one reply). Any number of sweepers may run at once, in any worker process.
//
// It finds user messages still pending a while after they were accepted and puts them back on their way:
// enqueued again if the queue has no job for them (Redis was down at accept, or lost its data), ended with
// the fallback reply if their job failed for good without doing so (the process died at that moment), or
// enqueued afresh if their job failed only because the database could not be reached.
// It also gives a follow-up job (workers/follow-up.ts) to each turn still retrying that has none, and puts
// knowledge documents stuck in processing, or due a refresh, back on the ingest queue (workers/ingest.ts), and
// tells users whose handoff nobody took in time (src/handoff.ts).

export interface SweeperOptions {
  intervalMs: number;
  /** A pending message younger than this is left alone: its job is most likely waiting or running. */
  afterMs: number;
  /** Where documents to ingest or refresh go; none: documents are not swept. */
  ingestQueue?: Queue<IngestJob>;
}

const BATCH = 500;

export async function sweepOnce(prisma: Db, queue: Queue<AskJob>, turns: TurnDeps, afterMs: number): Promise<number> {
  const stale = await prisma.message.findMany({
    where: { status: "pending", role: "user", createdAt: { lt: new Date(Date.now() - afterMs) } },
    orderBy: { seq: "asc" },
    take: BATCH,
    include: { conversation: { select: { orgId: true } } },
  });
  let moved = 0;
  for (const message of stale) {
    const state = await queue.getJobState(message.id);
    if (state === "unknown") {
      await enqueueTurn(queue, askJob(message));
      moved++;
    } else if (state === "completed" && !(await unanswered(prisma, message.id))) {
      // Answered since it was read, or a burst's message its job left to a later one's (workers/ask.ts).
    } else if (state === "failed" || state === "completed") {
      const job = await queue.getJob(message.id);
      if (state === "failed" && job && isDatabaseUnavailable({ message: job.failedReason })) {
        // The database was away for longer than the job's retries: the turn never ran, so run it again.
        await job.remove();
        await enqueueTurn(queue, askJob(message));
      } else {
        await failTurn(turns, message, message.conversation.orgId, `turn job ${state} without a reply`);
      }
      moved++;
    }
  }
  return moved + (await sweepFollowUps(prisma, queue, afterMs)) + (await expireHandoffs(turns));
}

/**
 * Whether the message is still pending with no later user message of its conversation pending (whose job would
 * answer it too), read in one snapshot: the reply that closes a burst closes all of its messages in one commit,
 * so this never sees the burst half answered.
 */
async function unanswered(prisma: Db, messageId: string): Promise<boolean> {
  const rows = await prisma.$queryRaw<unknown[]>`
    SELECT 1 FROM messages m WHERE m.id = ${messageId}::uuid AND m.status = 'pending'
      AND NOT EXISTS (SELECT 1 FROM messages l WHERE l.conversation_id = m.conversation_id AND l.status = 'pending'
                      AND l.role = 'user' AND l.seq > m.seq)`;
  return rows.length > 0;
}

/**
 * Waiting conversations nobody took in time: the user is told (HANDOFF_TIMEOUT_MESSAGE), once, and with
 * HANDOFF_TIMEOUT_RELEASE the assistant has the conversation again. The message is stored with the claim; a
 * send that fails (Redis away) is made by the outbox, or read by a socket that resumes.
 */
async function expireHandoffs(turns: TurnDeps): Promise<number> {
  const expired = await expireWaiting(turns.prisma, turns.channels, turns.handoff);
  for (const { message, conversation } of expired) {
    await turns.channels.send(message, conversation.orgId).catch(() => {});
    await turns.onHandoff?.(eventOf("handoff.timed_out", conversation));
  }
  return expired.length;
}

/**
 * Retrying turns whose follow-up job was lost. The oldest first, a batch a round: each leaves the retrying
 * status within MODEL_RETRY_FOR_MS while it has a job, so a turn further down is reached by then.
 */
async function sweepFollowUps(prisma: Db, queue: Queue<AskJob>, afterMs: number): Promise<number> {
  const retrying = await prisma.message.findMany({
    where: { status: RETRYING, role: "user", createdAt: { lt: new Date(Date.now() - afterMs) } },
    orderBy: { seq: "asc" },
    take: BATCH,
  });
  let moved = 0;
  for (const turn of retrying) {
    if (await requeue(queue, followUpJobId(turn.id), () => enqueueFollowUp(queue, askJob(turn)))) moved++;
  }
  return moved;
}

export function startSweeper(prisma: Db, queue: Queue<AskJob>, turns: TurnDeps, logger: Logger, opts: SweeperOptions) {
  const sweeps = every(
    opts.intervalMs,
    async () => {
      const moved = await sweepOnce(prisma, queue, turns, opts.afterMs);
      if (moved) logger.info({ moved }, "sweeper put pending messages back on their way");
    },
    (err) => logger.warn({ err: err.message }, "sweep failed; next one in a moment"),
  );
  // Passages indexed while the embeddings server was away get their vectors here, a few at a time (a no-op
  // without embeddings). A loop of its own: a slow embeddings server must not hold back the turns.
  const backfills = every(
    opts.intervalMs,
    async () => {
      const filled = await turns.knowledge.backfillEmbeddings(BACKFILL_PER_ROUND);
      if (filled) logger.info({ filled }, "embedded passages that were indexed without vectors");
    },
    (err) => logger.warn({ err: err.message }, "embeddings backfill failed; next one in a moment"),
  );
  const ingestQueue = opts.ingestQueue;
  const documents = ingestQueue
    ? every(
        opts.intervalMs,
        async () => {
          const swept = await sweepDocuments(prisma, ingestQueue, opts.afterMs);
          if (swept) logger.info({ documents: swept }, "sweeper put documents back on the ingest queue");
        },
        (err) => logger.warn({ err: err.message }, "document sweep failed; next one in a moment"),
      )
    : null;
  return {
    stop: () => {
      sweeps.stop();
      backfills.stop();
      documents?.stop();
    },
  };
}

const BACKFILL_PER_ROUND = 256;
