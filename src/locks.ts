import { randomUUID } from "node:crypto";
import type { RedisCall } from "./redis";

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

/**
 * A Redis lock that expires unless its holder keeps extending it: a holder killed mid-work lets go
 * within ttlMs, and nobody can release a lock it does not hold.
 */
export async function tryLock(redis: RedisCall, key: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
  const token = randomUUID();
  if ((await redis("set", key, token, "PX", ttlMs, "NX")) !== "OK") return null;
  const timer = setInterval(() => {
    redis("eval", EXTEND, 1, key, token, ttlMs).catch(() => {});
  }, ttlMs / 3);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await redis("eval", RELEASE, 1, key, token);
  };
}
