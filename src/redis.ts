import Redis from "ioredis";
import { Batcher } from "./batch";
import type { Logger } from "./logger";

// Redis may be away when the hub starts, or go away later. The hub keeps serving what does not need it
// (/healthz, /readyz, reads) and every connection reconnects with backoff. One connection, the command
// connection, logs a line per attempt; the others (BullMQ's, the bus subscriber) retry silently, so an
// outage reads as one line every few seconds rather than a stack per connection per attempt.

const COMMAND_TIMEOUT_MS = 5_000;

const backoff = (attempt: number) => Math.min(attempt * 200, 2000);

export interface RedisConnections {
  /** For commands that must fail fast when Redis is away (accept, rate limits, publish), not queue up. */
  commands: Redis;
  /** A new connection for a blocking consumer (BullMQ worker, pub/sub subscriber): it waits for Redis. */
  connect(): Redis;
  /** Why Redis cannot be used right now, or null when it can. */
  problem(): string | null;
  close(): void;
}

export function openRedis(url: string, logger: Logger): RedisConnections {
  let lastError = "";
  const commands = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A Redis that stops answering (frozen, or a half-open connection) fails a command rather than hanging
    // it: accept() then keeps the message pending for the sweeper, and the batches behind it (src/batch.ts)
    // go on instead of waiting for an answer that never comes.
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => {
      const delayMs = backoff(attempt);
      logger.warn({ attempt, delayMs, err: lastError }, "redis unreachable: reconnecting");
      return delayMs;
    },
  });
  commands.on("error", (err) => {
    lastError = err.message;
  });
  commands.on("ready", () => {
    if (lastError) logger.info("redis connected");
    lastError = "";
  });
  const opened = [commands];
  return {
    commands,
    connect() {
      const conn = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: backoff });
      conn.on("error", () => {});
      opened.push(conn);
      return conn;
    },
    problem: () => (commands.status === "ready" ? null : `not connected (${lastError || commands.status})`),
    close() {
      for (const conn of opened) conn.disconnect();
    },
  };
}

/** Whether an error only says Redis cannot be reached: the command connection has logged that already. */
export function isConnectionError(err: Error & { code?: string }): boolean {
  return (
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EPIPE"].includes(err.code ?? "") ||
    /Connection is closed|Stream isn't writeable|Reached the max retries|Command timed out/.test(err.message)
  );
}

/**
 * Resolves once `redis` has connected (true) or failed its first attempt (false): a start waits for what
 * needs Redis when Redis is there, and goes on without it when it is not.
 */
export function firstAttempt(redis: Redis): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  if (redis.status !== "wait" && redis.status !== "connecting" && redis.status !== "connect") return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (connected: boolean) => () => {
      redis.off("ready", onReady).off("error", onError);
      resolve(connected);
    };
    const onReady = settle(true);
    const onError = settle(false);
    redis.once("ready", onReady).once("error", onError);
  });
}

/** One Redis command, its name first: `["publish", channel, message]`. */
export type RedisCommand = [string, ...(string | number)[]];
/** Sends a command and resolves with its answer (see batchCommands). */
export type RedisCall = (...command: RedisCommand) => Promise<unknown>;

/**
 * Commands sent together: a command waits for the round trip under way on its connection, then goes with
 * every command that came meanwhile, in one pipeline (src/batch.ts). Under load one write and one round trip
 * carry many turns' rate limits, locks and events; an idle hub sends each at once. A command that Redis
 * refuses fails alone; a connection that fails fails the pipeline's every command.
 */
export function batchCommands(redis: Redis): RedisCall {
  const batch = new Batcher<RedisCommand, [Error | null, unknown]>(async (commands) => {
    // One command alone goes as it is: an ioredis pipeline copies every script defined on its connection
    // (BullMQ's dozens) when it is made, which cost more than the command at a low rate.
    if (commands.length === 1) {
      const [name, ...args] = commands[0];
      return [
        await redis.call(name, ...args).then(
          (answer) => [null, answer] as [null, unknown],
          (err: Error) => [err, null] as [Error, null],
        ),
      ];
    }
    return (await redis.pipeline(commands).exec()) ?? commands.map(() => [new Error("redis gave no answer"), null]);
  });
  return async (...command) => {
    const [err, answer] = await batch.submit(command);
    if (err) throw err;
    return answer;
  };
}
