import { randomBytes } from "node:crypto";
import { HubError } from "./errors";
import type { RedisCall } from "./redis";

const WINDOW_MS = 60_000;

// A sliding window, kept exactly: the times of the messages let through in the last minute, as a sorted set.
// A message is counted only when it is let through. One script, so check and count are atomic and each check
// is one command in the shared pipeline. KEYS: the set. ARGV: now (ms), the limit, a member unique to this
// message. Answers 1 (let through), or 0 and the time of the oldest message still in the window.
const TAKE = `
local now = tonumber(ARGV[1])
redis.call("zremrangebyscore", KEYS[1], "-inf", now - ${WINDOW_MS})
if redis.call("zcard", KEYS[1]) >= tonumber(ARGV[2]) then
  return {0, redis.call("zrange", KEYS[1], 0, 0, "WITHSCORES")[2]}
end
redis.call("zadd", KEYS[1], now, ARGV[3])
redis.call("pexpire", KEYS[1], ${WINDOW_MS})
return {1}`;

/**
 * Per-minute limits counted in Redis, so every gateway shares one count per user: at most N messages in any
 * 60 seconds (fixed minute windows let 2N through around the turn of a minute). A key holds the times of at
 * most N messages, and goes a minute after its last. One command a check, sent with other turns' commands in
 * one pipeline (src/redis.ts). If Redis cannot answer, the check lets the message through: accept() then
 * keeps it pending, and refusing a user because our limiter is down would be the worse failure.
 */
export class RateLimiter {
  private seq = 0;
  private readonly id = randomBytes(4).toString("hex");

  constructor(
    private redis: RedisCall,
    private prefix: string,
    private now: () => number = Date.now,
  ) {}

  /** Throws rate_limited when `key` has used its `perMinute` in the last minute. */
  async take(scope: string, key: string, perMinute: number): Promise<void> {
    const now = this.now();
    // Unique across gateways and within one millisecond: two messages at the same time are two members.
    const member = `${now}:${this.id}:${this.seq++}`;
    let answer: [number, string?];
    try {
      answer = (await this.redis("eval", TAKE, 1, `{${this.prefix}}:rl:${scope}:${key}`, now, perMinute, member)) as [number, string?];
    } catch {
      return;
    }
    if (answer[0] === 1) return;
    // A place frees up when the oldest message in the window leaves it.
    const retryAfter = Math.max(1, Math.ceil((Number(answer[1]) + WINDOW_MS - now) / 1000));
    throw new HubError(429, "rate_limited", "Rate limit exceeded", { retryAfter });
  }
}
