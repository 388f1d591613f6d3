import type { Queue } from "bullmq";
import type Redis from "ioredis";
import { createKnowledgeProvider } from "./assistants/knowledge";
import { createOpenAIProvider } from "./assistants/openai";
import { AssistantLookup } from "./assistants/store";
import { KeyRing } from "./auth/keys";
import { OperatorSessions } from "./auth/operators";
import { Batcher } from "./batch";
import { ReplyBus } from "./bus";
import { ChannelRegistry } from "./channels";
import type { Config } from "./config";
import { insertInbound, storeReplies, turnWindows } from "./conversations";
import { type Database, isItemError, openDatabase } from "./db/database";
import type { HubDeps } from "./hub";
import { Embeddings } from "./knowledge/embeddings";
import { KnowledgeIndex } from "./knowledge/index";
import type { IngestDeps } from "./knowledge/ingest";
import { createLogger, type Logger } from "./logger";
import { DeliveryStatements } from "./outbound";
import {
  type AskJob,
  Backlog,
  createAskQueue,
  createDeliverQueue,
  createHandoffWebhookQueue,
  createIngestQueue,
  type DeliverJob,
  enqueueTurns,
  enqueueWebhook,
  type HandoffWebhookJob,
  type IngestJob,
} from "./queue";
import { RateLimiter } from "./ratelimit";
import { batchCommands, isConnectionError, openRedis, type RedisCall } from "./redis";
import type { TurnDeps } from "./turns";

/** Everything the roles share, built once from the config (src/main.ts) or by a test. */
export interface Runtime {
  config: Config;
  logger: Logger;
  db: Database;
  /** Commands that must fail fast when Redis is away (accept, rate limits, publish), not queue up. */
  redis: Redis;
  /** The same connection's commands of every caller sent together, a pipeline a round trip (see batchCommands). */
  commands: RedisCall;
  askQueue: Queue<AskJob>;
  /** Messages to send through an API channel (Twilio): see src/channels.ts. */
  deliverQueue: Queue<DeliverJob>;
  /** Knowledge files and pages to parse and index, or to fetch again. */
  ingestQueue: Queue<IngestJob>;
  /** Handoff events for HANDOFF_WEBHOOK_URL. */
  webhookQueue: Queue<HandoffWebhookJob>;
  ingest: IngestDeps;
  /** Every queue of the hub, for /metrics and the dashboard. */
  queues: Queue[];
  bus: ReplyBus;
  keys: KeyRing;
  /** The console's signed-in operators (issue #15). */
  operatorSessions: OperatorSessions;
  hub: HubDeps;
  turns: TurnDeps;
  /** The channels plugged in (src/main.ts), and through them where each business-side message is sent. */
  channels: ChannelRegistry;
  knowledge: KnowledgeIndex;
  /** A new connection for a blocking consumer (BullMQ worker, pub/sub subscriber). */
  connect(): Redis;
  /** Why Redis cannot be used right now, or null when it can. */
  redisProblem(): string | null;
  close(): Promise<void>;
}

export function createRuntime(config: Config, logger: Logger = createLogger(config.LOG_LEVEL), database?: Database): Runtime {
  const db = database ?? openDatabase(config);
  const connections = openRedis(config.REDIS_URL, logger);
  const { commands: redis, connect } = connections;

  const askQueue = createAskQueue(redis, config.QUEUE_PREFIX);
  const deliverQueue = createDeliverQueue(redis, config.QUEUE_PREFIX);
  const ingestQueue = createIngestQueue(redis, config.QUEUE_PREFIX);
  const webhookQueue = createHandoffWebhookQueue(redis, config.QUEUE_PREFIX);
  for (const queue of [askQueue, deliverQueue, ingestQueue, webhookQueue]) {
    queue.on("error", (err) => {
      if (!isConnectionError(err)) logger.error({ err: err.message, queue: queue.name }, "queue error");
    });
  }
  // Rate limits and turn events of every caller, sent together (see batchCommands).
  const commands = batchCommands(redis);
  const bus = new ReplyBus(commands, config.QUEUE_PREFIX, config.ROLE === "worker" ? undefined : connect());
  const embeddings = config.EMBEDDINGS_BASE_URL
    ? new Embeddings({
        baseUrl: config.EMBEDDINGS_BASE_URL,
        model: config.EMBEDDINGS_MODEL,
        apiKey: config.EMBEDDINGS_API_KEY,
        queryTimeoutMs: config.EMBEDDINGS_QUERY_TIMEOUT_MS,
        logger,
      })
    : undefined;
  const knowledge = new KnowledgeIndex(db.prisma, { embeddings, minSimilarity: config.EMBEDDINGS_MIN_SIMILARITY, logger });
  const assistants = new AssistantLookup(db.prisma);
  const hub: HubDeps = {
    prisma: db.prisma,
    sql: db.sql,
    deliveries: new DeliveryStatements(db.sql, db.prisma),
    assistants,
    queue: askQueue,
    inserts: new Batcher((items) => insertInbound(db, items), isItemError),
    enqueues: new Batcher((jobs) => enqueueTurns(askQueue, jobs)),
    bus,
    limiter: new RateLimiter(commands, config.QUEUE_PREFIX),
    logger,
    messagesPerMinute: config.RATE_LIMIT_PER_MINUTE,
    backlog: new Backlog(askQueue),
    maxBacklog: config.MAX_QUEUE_BACKLOG,
    burstMs: { whatsapp: config.WHATSAPP_BURST_MS, sms: config.SMS_BURST_MS, ws: config.WS_BURST_MS },
  };
  const channels = new ChannelRegistry({ prisma: db.prisma, bus, deliverQueue });
  const turns: TurnDeps = {
    channels,
    prisma: db.prisma,
    db,
    // deliveredVia is read at each batch: the channels are registered after this (src/main.ts).
    replies: new Batcher((items) => storeReplies(db, items, channels.deliveredVia), isItemError),
    windows: new Batcher((jobs) => turnWindows(db, jobs, config.HISTORY_TURNS * 2)),
    assistants,
    bus,
    knowledge,
    providers: {
      knowledge: createKnowledgeProvider(),
      openai: createOpenAIProvider({
        baseUrl: config.OPENAI_BASE_URL,
        apiKey: config.OPENAI_API_KEY,
        model: config.OPENAI_MODEL,
        stream: config.OPENAI_STREAM,
        timeoutMs: config.OPENAI_TIMEOUT_MS,
        answerTimeoutMs: config.OPENAI_ANSWER_TIMEOUT_MS,
        maxRetries: config.OPENAI_MAX_RETRIES,
        logger,
      }),
    },
    defaultProvider: config.ASSISTANT_PROVIDER,
    historyMessages: config.HISTORY_TURNS * 2,
    logger,
    followUps: { queue: askQueue, forMs: config.MODEL_RETRY_FOR_MS },
    voice: {
      transcription: config.TRANSCRIBE_BASE_URL
        ? { baseUrl: config.TRANSCRIBE_BASE_URL, model: config.TRANSCRIBE_MODEL, apiKey: config.TRANSCRIBE_API_KEY }
        : null,
      model: config.TRANSCRIBE_MODEL,
      reply: config.VOICE_NOTE_REPLY,
      maxBytes: config.VOICE_NOTE_MAX_BYTES,
      maxSeconds: config.VOICE_NOTE_MAX_SECONDS,
      timeoutMs: config.TRANSCRIBE_TIMEOUT_MS,
    },
    handoff: {
      message: config.HANDOFF_MESSAGE,
      afterMisses: config.HANDOFF_AFTER_MISSES,
      timeoutMs: config.HANDOFF_TIMEOUT_MS,
      timeoutMessage: config.HANDOFF_TIMEOUT_MESSAGE,
      timeoutRelease: config.HANDOFF_TIMEOUT_RELEASE,
    },
    // Operators' sockets (/ws/operators) see each state change live, integrators through the webhook. A lost
    // notification (Redis away) loses no message: logged, not retried.
    onHandoff: async (event) => {
      const { orgId, conversationId, state, at } = event;
      const change = { type: "state" as const, orgId, conversationId, state, assignee: event.assignee ?? null, at };
      await bus.publish(event.reason ? { ...change, reason: event.reason } : change).catch(() => {});
      if (config.HANDOFF_WEBHOOK_URL) {
        await enqueueWebhook(webhookQueue, event).catch((err) => logger.warn({ err: err.message }, "handoff webhook not queued"));
      }
    },
  };

  const ingest: IngestDeps = {
    prisma: db.prisma,
    knowledge,
    queue: ingestQueue,
    fetch: { allowPrivate: config.INGEST_ALLOW_PRIVATE_URLS, maxBytes: config.INGEST_MAX_BYTES, timeoutMs: config.INGEST_FETCH_TIMEOUT_MS },
    parse: { memoryMb: config.INGEST_PARSE_MEMORY_MB, timeoutMs: config.INGEST_PARSE_TIMEOUT_MS },
    logger,
  };

  return {
    config,
    logger,
    db,
    redis,
    commands,
    askQueue,
    deliverQueue,
    ingestQueue,
    webhookQueue,
    ingest,
    queues: [askQueue, deliverQueue, ingestQueue, webhookQueue],
    bus,
    keys: new KeyRing(db.prisma),
    operatorSessions: new OperatorSessions(db.prisma, config.CONSOLE_SESSION_HOURS * 3_600_000),
    hub,
    turns,
    channels,
    knowledge,
    connect,
    redisProblem: connections.problem,
    async close() {
      await askQueue.close().catch(() => {});
      await deliverQueue.close().catch(() => {});
      await ingestQueue.close().catch(() => {});
      await webhookQueue.close().catch(() => {});
      connections.close();
      await db.close();
    },
  };
}
