import { DelayedError, type Job } from "bullmq";
import type Redis from "ioredis";
import { burstOf } from "../src/bursts";
import { isDatabaseUnavailable } from "../src/db/database";
import { holdTurns } from "../src/handoff";
import { tryLock } from "../src/locks";
import {
  ASK_QUEUE,
  type AskJob,
  backoffUpTo,
  FOLLOW_UP,
  FOLLOW_UP_MAX_BACKOFF_MS,
  type HubWorkerOptions,
  startHubWorker,
} from "../src/queue";
import { batchCommands } from "../src/redis";
import { failTurn, publishHeld, publishReply, runTurn, type TurnDeps } from "../src/turns";
import { VoiceNoteError } from "../src/voice";
import { followUp } from "./follow-up";

// Idempotency: a turn stores at most one reply (messages.in_reply_to_id is unique), and a job whose
// message is no longer pending only publishes the stored reply again. So a retried, duplicated or
// recovered job never answers twice. A turn whose conversation a person has is held instead (src/handoff.ts),
// here or, should the handoff come while the assistant is being asked, when its reply would be stored.
//
// Order: one job at a time holds its conversation's lock and answers every pending message of the
// conversation up to its own, oldest first. A job that finds the lock taken waits in the delayed set.
// Follow-ups (workers/follow-up.ts) are jobs of this queue too, under the same lock.
//
// Bursts: on a channel with a burst window (AskJob.burstMs), a job waits that long after its message, then
// leaves its messages to the job of a later message, if there is one, so the last job of a burst answers it
// all in one turn (src/conversations.ts closes the burst's earlier messages with that turn's reply). A user
// who never pauses is answered once their unanswered messages span BURST_SPANS windows. The span is of when
// the messages came, not of when a job runs: a worker running late (a backlog, a restart) still answers a
// burst as one.

/** lockMs is also how long a conversation stays locked by a worker that stopped answering. */
export type AskWorkerOptions = HubWorkerOptions;

const RETRY_LOCKED_MS = 150;
const BURST_SPANS = 4;

export function createAskProcessor(deps: TurnDeps, connection: Redis, prefix: string, lockMs: number) {
  // Turn locks taken and released together, a pipeline a round trip (see batchCommands).
  const redis = batchCommands(connection);
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
      const { due, history, handoffState, laterAt } = await deps.windows.submit({ conversationId, seq: BigInt(seq) });
      if (due.at(-1)?.id !== messageId) {
        const turn = await prisma.message.findUnique({
          where: { id: messageId },
          include: { reply: true, conversation: { select: { orgId: true } } },
        });
        if (turn?.reply) await publishReply(deps, turn, turn.conversation.orgId, turn.reply);
        return;
      }
      const burstMs = job.data.burstMs ?? 0;
      if (burstMs && laterAt && laterAt.getTime() - due[0].createdAt.getTime() < burstMs * BURST_SPANS) return;
      if (handoffState !== "bot") {
        // Accepted before a person was asked for, run after: held, not answered. Should the conversation have
        // gone back to the assistant meanwhile, the retry answers what is still pending.
        const held = await holdTurns(
          prisma,
          due.map((m) => m.id),
        );
        if (held === due.length)
          return publishHeld(
            deps,
            due[0].orgId,
            conversationId,
            due.map((m) => m.id),
          );
        throw new Error("the conversation went back to the assistant while its turns were being held");
      }
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      // A burst is one turn, its last message's: its voice notes are transcribed first (src/bursts.ts).
      const turns = burstMs ? [due] : due.map((m) => [m]);
      for (const [i, messages] of turns.entries()) {
        const message = messages[messages.length - 1];
        try {
          const { turn, unheard } = messages.length > 1 ? await burstOf(deps, messages, lastAttempt) : { turn: message };
          // The window's history is the first message's; the others follow replies stored since.
          await runTurn(deps, turn, message.orgId, i === 0 ? history : undefined, unheard);
        } catch (err) {
          // The last attempt ends the turn with the fallback reply rather than leave the user waiting.
          // Not when the database is away: the fallback could not be stored either, and the sweeper runs the
          // turn again once the database is back.
          const last = message.id === messageId && lastAttempt;
          if (!last || isDatabaseUnavailable(err)) throw err;
          deps.logger.error({ turn: messageId, err: (err as Error).message }, "turn failed after its last attempt");
          await failTurn(deps, message, message.orgId, (err as Error).message, err instanceof VoiceNoteError ? err.reply : undefined);
        }
      }
    } finally {
      await release().catch(() => {});
    }
  };
}

// A BullMQ worker fetches its jobs one at a time, a round trip each: one fetch loop takes in at most a few
// hundred turns a second, and 1,000 conversations answered together by a slow model arrive as waves that
// waited seconds in the queue (the model figure of `npm run bench`: 125 turns/s, 1.2-2.2 s in the queue).
// So the concurrency is shared by several workers, each fetching on its own: 4 for the default 1,000.
const TURNS_PER_FETCHER = 250;

/** The ask workers of this process, as one. */
export interface AskWorkers {
  close(force?: boolean): Promise<void>;
}

export function startAskWorker(deps: TurnDeps, opts: AskWorkerOptions): AskWorkers {
  const processor = createAskProcessor(deps, opts.connection, opts.prefix, opts.lockMs);
  const fetchers = Math.ceil(opts.concurrency / TURNS_PER_FETCHER);
  const workers = Array.from({ length: fetchers }, (_, i) => {
    // The concurrency in all stays the configured one.
    const concurrency = Math.floor(opts.concurrency / fetchers) + (i < opts.concurrency % fetchers ? 1 : 0);
    // Turns use the built-in exponential backoff; follow-ups this one (the only custom type).
    return startHubWorker(ASK_QUEUE, processor, { ...opts, concurrency }, deps.logger, {
      backoffStrategy: backoffUpTo(FOLLOW_UP_MAX_BACKOFF_MS),
    });
  });
  return {
    async close(force) {
      await Promise.all(workers.map((w) => w.close(force)));
    },
  };
}
