import { DelayedError, type Job } from "bullmq";
import { ReplyError } from "ioredis";
import type { RedisCall } from "./redis";

// Sends from one number are spaced to the provider's throughput for that number, across every worker process:
// a burst of replies is smoothed here instead of being answered with 429s (or queued at the provider for
// hours). Each number has one "next free slot" time in Redis; a send reserves the slot (one atomic script),
// and a job whose slot is ahead is moved to the delayed set until then, so it holds no worker slot waiting.

// Reserves the sender's next slot: returns how many ms from now it is (0: now). Redis's clock, so every process
// agrees. The key lasts until its slot has passed. A slot's length is rarely whole milliseconds (80 a second:
// 12.5 ms), and SET's PX takes only an integer: refused, the script failed and every send went unpaced.
const RESERVE = `
local t = redis.call("time")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slot = tonumber(redis.call("get", KEYS[1]) or "0")
if slot < now then slot = now end
local nextSlot = slot + tonumber(ARGV[1])
redis.call("set", KEYS[1], nextSlot, "px", math.ceil(math.max(1, nextSlot - now)) + 1000)
return slot - now`;

/** A slot reserved for a delayed job, read back when it runs (within this much of its time, else taken anew). */
const SLOT_VALID_MS = 1000;

export interface PacedJob {
  /** The slot (ms since the epoch) this job was delayed to; it sends then without reserving another. */
  slotAt?: number;
}

export class SendPace {
  constructor(
    /** The runtime's batched commands: the slots of the sends under way go in one pipeline (see batchCommands). */
    private readonly redis: RedisCall,
    private readonly prefix: string,
  ) {}

  /**
   * Resolves when the job may send from `sender` now, at `perSecond`; otherwise reserves its slot, moves the
   * job to the delayed set until then and throws DelayedError (the processor lets it through to BullMQ).
   * If Redis cannot be reached, the send goes: the provider's own queue and 429s are the fallback, not a stall.
   */
  async take<T extends PacedJob>(job: Job<T>, token: string | undefined, sender: string, perSecond: number): Promise<void> {
    if (perSecond <= 0) return;
    const { slotAt } = job.data;
    if (slotAt !== undefined && Math.abs(Date.now() - slotAt) < SLOT_VALID_MS) {
      job.data.slotAt = undefined;
      return;
    }
    const wait = await this.reserve(sender, perSecond);
    if (wait <= 0) return;
    const at = Date.now() + wait;
    await job.updateData({ ...job.data, slotAt: at });
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }

  /**
   * Reserves the next send slot of `sender` at `perSecond`: how many ms from now it is (0: send now).
   * If Redis cannot be reached, 0: the provider's own queue and 429s are the fallback, not a stall.
   */
  async reserve(sender: string, perSecond: number): Promise<number> {
    if (perSecond <= 0) return 0;
    try {
      return Number(await this.redis("eval", RESERVE, 1, `{${this.prefix}}:pace:${sender}`, 1000 / perSecond));
    } catch (err) {
      // The script refused (an ERR of its own) is a fault of the hub's and must not pass for an outage; a Redis
      // loading, read-only after a failover or out of memory is one.
      if (err instanceof ReplyError && /^ERR /.test((err as Error).message)) throw err;
      return 0;
    }
  }
}
