import type Redis from "ioredis";

// Takes a free place if the key has one: drops lapsed holders, counts, adds this one with its lease's end.
// KEYS[1] the key; ARGV now, lease ms, most holders, holder.
const ACQUIRE = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

export interface Held {
  key: string;
  holder: string;
}

/**
 * At most so many holders of a key at once, counted in Redis so that every process shares the count. A holder
 * is a member of a sorted set scored by when its lease ends: the process holding it renews the lease while it
 * lives, so a process that dies without releasing frees its places within one lease rather than never.
 * The processes' clocks are assumed to agree to well within a lease. If Redis cannot answer, a place is
 * granted: refusing everyone because the count is unreachable would be the worse failure.
 */
export class Leases {
  constructor(
    private redis: Redis,
    private prefix: string,
    private scope: string,
    readonly leaseMs: number,
  ) {}

  private redisKey(key: string) {
    return `{${this.prefix}}:leases:${this.scope}:${key}`;
  }

  /** Takes a place for `holder` under `key`; false when `max` holders have one. */
  async acquire(key: string, holder: string, max: number): Promise<boolean> {
    try {
      return (await this.redis.eval(ACQUIRE, 1, this.redisKey(key), Date.now(), this.leaseMs, max, holder)) === 1;
    } catch {
      return true;
    }
  }

  async release({ key, holder }: Held): Promise<void> {
    await this.redis.zrem(this.redisKey(key), holder).catch(() => {});
  }

  /**
   * Extends the leases of the places in `held`, all in one round trip. A lease that lapsed meanwhile (a
   * stalled process) is taken again, whatever the count: its holder is still there. Call it with what is held
   * now, at once: a release sent before then has been sent first on the same connection.
   */
  async renew(held: Held[]): Promise<void> {
    if (!held.length) return;
    const ends = Date.now() + this.leaseMs;
    const byKey = new Map<string, string[]>();
    for (const { key, holder } of held) {
      const holders = byKey.get(key) ?? [];
      holders.push(holder);
      byKey.set(key, holders);
    }
    const pipeline = this.redis.pipeline();
    for (const [key, holders] of byKey) {
      pipeline.zadd(this.redisKey(key), ...holders.flatMap((h) => [ends, h]));
      pipeline.pexpire(this.redisKey(key), this.leaseMs);
    }
    await pipeline.exec().catch(() => {});
  }
}
