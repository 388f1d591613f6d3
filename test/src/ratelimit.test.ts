import { randomBytes } from "node:crypto";
import Redis from "ioredis";
import type { HubError } from "../../src/errors";
import { RateLimiter } from "../../src/ratelimit";
import { batchCommands, type RedisCall } from "../../src/redis";
import { REDIS_URL } from "../support/env";

const MINUTE = 60_000;
// A minute boundary in the past, so the keys are new: the test moves the limiter's clock around it.
const BOUNDARY = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

describe("RateLimiter (a sliding minute, real Redis)", () => {
  let redis: Redis;
  let commands: RedisCall;
  let sent: number;
  let now: number;
  let limiter: RateLimiter;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    const batched = batchCommands(redis);
    commands = (...command) => {
      sent++;
      return batched(...command);
    };
  });
  beforeEach(() => {
    sent = 0;
    limiter = new RateLimiter(commands, `rl-test-${randomBytes(4).toString("hex")}`, () => now);
  });
  afterAll(() => redis.quit());

  /** How many of `n` messages at once the limiter lets through, and the Retry-After of a refused one. */
  const burst = async (n: number, key = "alice") => {
    const results = await Promise.allSettled(Array.from({ length: n }, () => limiter.take("messages", key, 60)));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as HubError);
    for (const err of refused) expect(err).toMatchObject({ status: 429, code: "rate_limited" });
    return { allowed: n - refused.length, retryAfter: refused[0]?.details?.retryAfter as number | undefined };
  };

  it("lets the limit through, refuses the rest with an honest Retry-After, each check one command", async () => {
    now = BOUNDARY + 20_000;
    const { allowed, retryAfter } = await burst(80);
    expect(allowed).toBe(60);
    expect(sent).toBe(80);
    expect(retryAfter).toBe(60);
    expect((await burst(1, "bob")).allowed).toBe(1);
    now += 59_000;
    expect((await burst(1)).allowed).toBe(0);
    now += 1_000;
    expect((await burst(80)).allowed).toBe(60);
  });

  it("lets a burst straddling a minute boundary through once, not twice", async () => {
    now = BOUNDARY - 500;
    expect((await burst(60)).allowed).toBe(60);
    now = BOUNDARY + 500;
    // Fixed windows would let 60 more through here.
    const after = await burst(60);
    expect(after.allowed).toBe(0);
    expect(after.retryAfter).toBe(59);
    now = BOUNDARY + 30_000;
    expect((await burst(1)).allowed).toBe(0);
    now = BOUNDARY - 500 + 60_000;
    expect((await burst(60)).allowed).toBe(60);
  });

  it("counts any 60 seconds, not calendar minutes: a steady sender gets the limit, spread out", async () => {
    let allowed = 0;
    // Two messages a second for three minutes against 60 a minute: about 60 in each minute, never more.
    const times: number[] = [];
    for (let t = 0; t < 180_000; t += 500) {
      now = BOUNDARY + t;
      if ((await burst(1)).allowed) {
        allowed++;
        times.push(now);
      }
    }
    expect(allowed).toBeGreaterThanOrEqual(180);
    for (let i = 60; i < times.length; i++) expect(times[i] - times[i - 60]).toBeGreaterThanOrEqual(60_000);
  });

  it("lets messages through when Redis cannot answer", async () => {
    const down = new RateLimiter(
      () => Promise.reject(new Error("connection refused")),
      "rl-down",
      () => now,
    );
    for (let i = 0; i < 100; i++) await down.take("messages", "alice", 1);
  });
});
