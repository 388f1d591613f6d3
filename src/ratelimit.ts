import { HubError } from "./errors";
import type { RedisCall } from "./redis";

// Counts one and returns the count, setting the window's expiry on its first count: one command, atomic.
const TAKE = `local n = redis.call("incr", KEYS[1]) if n == 1 then redis.call("pexpire", KEYS[1], ARGV[1]) end return n`;

/**
 * Fixed one-minute windows counted in Redis, so every gateway shares one count per user. One round trip a
 * check. If Redis cannot answer, the check lets the message through: accept() then keeps it pending, and
 * refusing a user because our limiter is down would be the worse failure.
 */
export class RateLimiter {
  constructor(
    private redis: RedisCall,
    private prefix: string,
  ) {}

  /** Throws rate_limited when `key` has used its `perMinute` in the current window. */
  async take(scope: string, key: string, perMinute: number): Promise<void> {
    const window = Math.floor(Date.now() / 60_000);
    const redisKey = `{${this.prefix}}:rl:${scope}:${key}:${window}`;
    let count: number;
    try {
      count = Number(await this.redis("eval", TAKE, 1, redisKey, 61_000));
    } catch {
      return;
    }
    if (count > perMinute) {
      const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - Date.now()) / 1000));
      throw new HubError(429, "rate_limited", "Rate limit exceeded", { retryAfter });
    }
  }
}
