import { DelayedError, type Job, Worker } from "bullmq";
import type Redis from "ioredis";
import { isDatabaseUnavailable } from "../src/db/database";
import { holdTurns } from "../src/handoff";
import { tryLock } from "../src/locks";
import { ASK_QUEUE, type AskJob, backoffUpTo, bullPrefix, FOLLOW_UP, FOLLOW_UP_MAX_BACKOFF_MS } from "../src/queue";
import { isConnectionError } from "../src/redis";
import { failTurn, publishReply, runTurn, type TurnDeps } from "../src/turns";
import { followUp } from "./follow-up";

// Idempotency: a turn stores at most one reply (messages.in_reply_to_id is unique), and a job whose
// message is no longer pending only publishes the stored reply again. So a retried, duplicated or
// recovered job never answers twice. A turn whose conversation a person has is held instead (src/handoff.ts),
// here or, should the handoff come while the assistant is being asked, when its reply would be stored.
//
// Order: one job at a time holds its conversation's lock and answers every pending message of the
// conversation up to its own, oldest first. A job that finds the lock taken waits in the delayed set.
// Follow-ups (workers/follow-up.ts) are jobs of this queue too, under the same lock.

export interface AskWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** How long a job (and a conversation) stays locked by a worker that stopped answering. */
  lockMs: number;
}

const RETRY_LOCKED_MS = 150;

export function createAskProcessor(deps: TurnDeps, redis: Redis, prefix: string, lockMs: number) {
  return async (job: Job<AskJob>, token?: string): Promise<void> => {
    const { prisma } = deps;
    const { messageId, conversationId } = job.data;
    const release = await tryLock(redis, `{${prefix}}:turn-lock:${conversationId}`, lockMs);
    if (!release) {
      await job.moveToDelayed(Date.now() + RETRY_LOCKED_MS, token);
      throw new DelayedError();
    }
    try {
      if (job.name === FOLLOW_UP) return await followUp(deps, messageId);
      // A job added by a gateway older than `seq` (during a rolling upgrade) has its message read for it.
      const seq = job.data.seq ?? (await prisma.message.findUnique({ where: { id: messageId }, select: { seq: true } }))?.seq;
      if (seq === undefined) return;
      // The conversation's unanswered messages up to this job's: its own is the last unless already answered.
      const { due, history, handoffState } = await deps.windows.submit({ conversationId, seq: BigInt(seq) });
      if (due.at(-1)?.id !== messageId) {
        const turn = await prisma.message.findUnique({ where: { id: messageId }, include: { reply: true } });
        if (turn?.reply) await publishReply(deps, turn, turn.reply);
        return;
      }
      if (handoffState !== "bot") {
        // Accepted before a person was asked for, run after: held, not answered. Should the conversation have
        // gone back to the assistant meanwhile, the retry answers what is still pending.
        const held = await holdTurns(
          prisma,
          due.map((m) => m.id),
        );
        if (held === due.length) return;
        throw new Error("the conversation went back to the assistant while its turns were being held");
      }
      for (const [i, message] of due.entries()) {
        try {
          // The window's history is the first message's; the others follow replies stored since.
          await runTurn(deps, message, message.orgId, i === 0 ? history : undefined);
        } catch (err) {
          // The last attempt ends the turn with the fallback reply rather than leave the user waiting.
          // Not when the database is away: the fallback could not be stored either, and the sweeper runs the
          // turn again once the database is back.
          const last = message.id === messageId && job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          if (!last || isDatabaseUnavailable(err)) throw err;
          deps.logger.error({ turn: messageId, err: (err as Error).message }, "turn failed after its last attempt");
          await failTurn(deps, message, (err as Error).message);
        }
      }
    } finally {
      await release().catch(() => {});
    }
  };
}

export function startAskWorker(deps: TurnDeps, opts: AskWorkerOptions): Worker<AskJob> {
  const worker = new Worker<AskJob>(ASK_QUEUE, createAskProcessor(deps, opts.connection, opts.prefix, opts.lockMs), {
    connection: opts.connection,
    prefix: bullPrefix(opts.prefix),
    concurrency: opts.concurrency,
    lockDuration: opts.lockMs,
    stalledInterval: Math.max(1000, opts.lockMs / 2),
    // Turns use the built-in exponential backoff; follow-ups this one (the only custom type).
    settings: { backoffStrategy: backoffUpTo(FOLLOW_UP_MAX_BACKOFF_MS) },
  });
  worker.on("error", (err) => {
    if (!isConnectionError(err)) deps.logger.error({ err: err.message }, "ask worker error");
  });
  return worker;
}
