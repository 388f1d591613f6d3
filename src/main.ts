import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Worker } from "bullmq";
import type { Express } from "express";
import { createAskChannel } from "../adapters/rest/ask";
import { askOperations } from "../adapters/rest/ask/openapi";
import { createBotujChannel } from "../adapters/rest/botuj";
import { botujOperations } from "../adapters/rest/botuj/schema";
import { createConsoleApi } from "../adapters/rest/console";
import { createInsightsApi, insightsOperations } from "../adapters/rest/console/insights";
import { consoleOperations } from "../adapters/rest/console/schema";
import { createConversationServiceChannel } from "../adapters/rest/conversation-service";
import { conversationServiceOperations } from "../adapters/rest/conversation-service/schema";
import { createGeneralBotsChannel } from "../adapters/rest/generalbots";
import { generalBotsOperations } from "../adapters/rest/generalbots/schema";
import { createInboxApi } from "../adapters/rest/inbox";
import { operatorMessageOperations } from "../adapters/rest/inbox/messages";
import { inboxOperations } from "../adapters/rest/inbox/schema";
import { createManagementApi } from "../adapters/rest/management";
import { managementOperations } from "../adapters/rest/management/openapi";
import { createTwilioChannel } from "../adapters/twilio";
import { createWsChannel } from "../adapters/ws";
import { type AskWorkers, startAskWorker } from "../workers/ask";
import { DirectDeliveries, startDeliverWorker, startOutbox } from "../workers/deliver";
import { startWebhookWorker } from "../workers/handoff-webhook";
import { startIngestWorker } from "../workers/ingest";
import { startSweeper } from "../workers/sweeper";
import { bootstrap } from "./bootstrap";
import type { Channel } from "./channels";
import { commandLine } from "./cli";
import { serveCommands } from "./cli-socket";
import { type Config, ConfigError, databaseLabel, embeddedDir, loadConfig } from "./config";
import type { Database } from "./db/database";
import { DirectoryInUse } from "./db/lock";
import { createApp } from "./http/app";
import { consoleRouter } from "./http/console";
import { hubOperations } from "./http/hub-openapi";
import { metricsApp } from "./http/metrics";
import { createApiDocs, openApiDocument } from "./http/openapi";
import { widgetRouter } from "./http/widget";
import { SendPace } from "./pace";
import { claimQueuePrefix } from "./queue";
import { firstAttempt } from "./redis";
import { createRuntime, type Runtime } from "./runtime";

// The composition root: the one file of src/ that imports adapters and workers, to plug them in.

export interface RunningHub {
  runtime: Runtime;
  /** Base URL of the gateway (ROLE all or gateway). */
  url: string | null;
  /** The gateway's Express app, whose routes a test can list (null for ROLE worker). */
  app: Express | null;
  /** Base URL of the metrics server, when METRICS_PORT is set. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

/** Starts the roles `config` asks for; `database` replaces the one the config names (tests bring their own). */
export async function startHub(config: Config, database?: Database): Promise<RunningHub> {
  // The ports first: a port in use stops the start before the data directory is opened. Until the hub is
  // ready, each answers 503.
  const starting: RequestListener = (_req, res) => res.writeHead(503, { "retry-after": "1" }).end();
  let handle = starting;
  let handleMetrics = starting;
  const server = config.ROLE === "worker" ? null : await listen((req, res) => handle(req, res), config.PORT, config.HOST, "PORT");
  // Every role has metrics (a worker's turns and assistant calls), so the metrics port is not the gateway's.
  let metricsServer: Server | null = null;
  let rt: Runtime;
  try {
    if (config.METRICS_PORT !== undefined)
      metricsServer = await listen((req, res) => handleMetrics(req, res), config.METRICS_PORT, config.METRICS_HOST, "METRICS_PORT");
    rt = createRuntime(config, undefined, database);
  } catch (err) {
    server?.close();
    metricsServer?.close();
    if (!(err instanceof DirectoryInUse)) throw err;
    throw new ConfigError(
      `${err.message}: another hub, or an npm run cli command, has this DATA_DIR open; ` +
        `stop it, or give this hub a DATA_DIR (or DATABASE_URL) of its own. If none runs, delete ${err.file}`,
    );
  }
  if (config.MIGRATE_ON_START) {
    const applied = await rt.db.migrate();
    if (applied.length) rt.logger.info({ applied }, "migrations applied");
  } else {
    const pending = await rt.db.pendingMigrations();
    if (pending.length) {
      await rt.close();
      server?.close();
      metricsServer?.close();
      throw new ConfigError(`the database lacks migrations ${pending.join(", ")}: run npm run migrate (MIGRATE_ON_START is false)`);
    }
  }
  const { orgId } = await bootstrap(rt.db.prisma, config.BOOTSTRAP_API_KEY);
  await checkQueuePrefix(rt, orgId);
  // `npm run cli` cannot open the embedded database while this process holds it: it sends its commands here.
  const dir = embeddedDir(config);
  const commands = dir ? await serveCommands(rt.db.prisma, dir, rt.logger, commandLine) : null;
  // Every channel, in one list: a gateway serves their routes and sockets, a worker sends through their senders.
  const channels = createChannels(rt);
  rt.channels.register(channels);
  if (metricsServer) handleMetrics = metricsApp(rt.queues, config.METRICS_TOKEN);

  let app: Express | null = null;
  let worker: AskWorkers | null = null;
  let sweeper: { stop(): void } | null = null;
  let deliverer: Worker | null = null;
  let direct: DirectDeliveries | null = null;
  let ingester: Worker | null = null;
  let webhooks: Worker | null = null;
  let outbox: { stop(): void } | null = null;
  let sockets: { close(): Promise<void> }[] = [];
  if (server) {
    await rt.bus.listen();
    app = createApp(rt, [
      createManagementApi({
        prisma: rt.db.prisma,
        keys: rt.keys,
        sessions: rt.operatorSessions,
        knowledge: rt.knowledge,
        ingest: rt.ingest,
        maxUploadBytes: config.INGEST_MAX_BYTES,
        assistants: rt.hub.assistants,
        logger: rt.logger,
      }),
      createInboxApi({
        prisma: rt.db.prisma,
        keys: rt.keys,
        sessions: rt.operatorSessions,
        bus: rt.bus,
        channels: rt.channels,
        handoff: rt.turns.handoff,
        onHandoff: rt.turns.onHandoff,
        logger: rt.logger,
      }),
      createConsoleApi({
        prisma: rt.db.prisma,
        keys: rt.keys,
        sessions: rt.operatorSessions,
        limiter: rt.hub.limiter,
        loginsPerEmail: config.CONSOLE_LOGINS_PER_EMAIL_PER_MINUTE,
        loginsPerAddress: config.CONSOLE_LOGINS_PER_ADDRESS_PER_MINUTE,
        logger: rt.logger,
      }),
      createInsightsApi({ prisma: rt.db.prisma, keys: rt.keys, sessions: rt.operatorSessions, logger: rt.logger }),
      createApiDocs(apiDocument(channels)),
      ...channels.flatMap((channel) => channel.routers),
      consoleRouter(path.join(__dirname, "../public/console")),
      widgetRouter(path.join(__dirname, "../public")),
    ]);
    handle = app;
    sockets = channels.flatMap((channel) => (channel.attach ? [channel.attach(server)] : []));
  }
  if (config.ROLE !== "gateway") {
    worker = startAskWorker(rt.turns, {
      connection: rt.connect(),
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      lockMs: config.JOB_LOCK_MS,
    });
    ingester = startIngestWorker(rt.ingest, {
      connection: rt.connect(),
      prefix: config.QUEUE_PREFIX,
      concurrency: config.INGEST_CONCURRENCY,
      lockMs: config.JOB_LOCK_MS,
    });
    if (config.HANDOFF_WEBHOOK_URL && config.HANDOFF_WEBHOOK_SECRET) {
      webhooks = startWebhookWorker(
        { url: config.HANDOFF_WEBHOOK_URL, secret: config.HANDOFF_WEBHOOK_SECRET },
        { connection: rt.connect(), prefix: config.QUEUE_PREFIX, logger: rt.logger },
      );
    }
    sweeper = startSweeper(rt.db.prisma, rt.askQueue, rt.turns, rt.logger, {
      intervalMs: config.SWEEP_INTERVAL_MS,
      afterMs: config.SWEEP_AFTER_MS,
      ingestQueue: rt.ingestQueue,
    });
    // One deliver worker and one outbox for every channel that sends through an API.
    if (rt.channels.deliveredVia.length) {
      const pace = new SendPace(rt.commands, config.QUEUE_PREFIX);
      const deliverDeps = {
        prisma: rt.db.prisma,
        statements: rt.hub.deliveries,
        channels: rt.channels,
        queue: rt.deliverQueue,
        logger: rt.logger,
        pace,
        sendingHere: new Set<string>(),
      };
      const retry = { forMs: config.DELIVER_RETRY_FOR_MS, maxBackoffMs: config.DELIVER_MAX_BACKOFF_MS };
      deliverer = startDeliverWorker(deliverDeps, {
        connection: rt.connect(),
        prefix: config.QUEUE_PREFIX,
        concurrency: config.WORKER_CONCURRENCY,
        lockMs: config.JOB_LOCK_MS,
        retry,
      });
      // A reply stored here is sent from here: a job a message less (the deliver queue keeps retries and waits).
      direct = new DirectDeliveries(deliverDeps, retry, config.WORKER_CONCURRENCY);
      rt.channels.sendHere(direct);
      outbox = startOutbox(deliverDeps, { intervalMs: config.SWEEP_INTERVAL_MS, afterMs: config.SWEEP_AFTER_MS });
    }
  }
  const port = server ? (server.address() as AddressInfo).port : null;
  const url = port === null ? null : `http://127.0.0.1:${port}`;
  const metricsHost = config.METRICS_HOST.includes(":") ? `[${config.METRICS_HOST}]` : config.METRICS_HOST;
  const metricsUrl = metricsServer && `http://${metricsHost}:${(metricsServer.address() as AddressInfo).port}`;
  rt.logger.info(
    { role: config.ROLE, url, metricsUrl, database: rt.db.kind, databaseUrl: databaseLabel(config), queuePrefix: config.QUEUE_PREFIX },
    "hub started",
  );

  return {
    runtime: rt,
    url,
    app,
    metricsUrl,
    // Stop taking new work, let in-flight turns finish (a turn still running at the deadline is handed back:
    // its job's lock lapses and another worker takes it), then close connections.
    async stop() {
      sweeper?.stop();
      outbox?.stop();
      // Sockets first: their clients reconnect to another gateway and resume there.
      await Promise.all(sockets.map((socket) => socket.close()));
      // With Redis away a worker's close would wait for a connection that may never come. Its turns in flight
      // cannot report to Redis either: their jobs stall, and are taken over and answered once when it is back.
      const force = rt.redisProblem() !== null;
      const closing = [
        server && new Promise<void>((resolve) => server?.close(() => resolve())),
        worker?.close(force),
        // The sends under way finish; a reply stored from now on gets a job, as the deliver worker takes no more.
        direct?.close(),
        deliverer?.close(force),
        ingester?.close(force),
        webhooks?.close(force),
        // An npm run cli command running finishes; a client that stopped reading is cut off at the deadline.
        commands?.close(),
      ];
      server?.closeIdleConnections();
      await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, config.SHUTDOWN_TIMEOUT_MS).unref())]);
      server?.closeAllConnections();
      commands?.destroy();
      // A scraper's keep-alive connection would hold the close up.
      metricsServer?.closeAllConnections();
      if (metricsServer) await new Promise((resolve) => metricsServer?.close(resolve));
      await rt.close();
    },
  };
}

/**
 * The hub's channels: the one list to add a channel to. Twilio's once its account is configured (without it,
 * WhatsApp and SMS have no webhook and nothing is sent through Twilio).
 */
function createChannels(rt: Runtime): Channel[] {
  const { config, hub, keys, bus } = rt;
  const channels = [
    createAskChannel({
      hub,
      keys,
      sessions: rt.operatorSessions,
      bus,
      askTimeoutMs: config.ASK_TIMEOUT_MS,
      maxWaiting: config.MAX_WAITING_ASKS,
    }),
    createGeneralBotsChannel({ hub, keys }),
    createBotujChannel({ prisma: rt.db.prisma, keys, logger: rt.logger }),
    createConversationServiceChannel({ hub, keys, bus, streamTimeoutMs: config.ASK_TIMEOUT_MS }),
    createWsChannel({
      hub,
      keys,
      sessions: rt.operatorSessions,
      bus,
      endUserTokens: {
        audience: config.END_USER_TOKEN_AUDIENCE,
        issuer: config.END_USER_TOKEN_ISSUER,
        clockToleranceSeconds: config.END_USER_TOKEN_CLOCK_TOLERANCE_S,
      },
      allowedOrigins: config.WS_ALLOWED_ORIGINS,
      maxFrameBytes: config.WS_MAX_FRAME_BYTES,
      heartbeatMs: config.WS_HEARTBEAT_MS,
      anonymousTtlMs: config.WS_ANONYMOUS_TTL_MS,
      addressLimits: {
        socketsPerAddress: config.WS_ANONYMOUS_SESSIONS_PER_ADDRESS,
        sessionsPerMinute: config.WS_ANONYMOUS_SESSIONS_PER_ADDRESS_PER_MINUTE,
        messagesPerMinute: config.WS_ANONYMOUS_PER_ADDRESS_PER_MINUTE,
      },
      trustedProxies: config.TRUSTED_PROXIES,
      redis: rt.redis,
      prefix: config.QUEUE_PREFIX,
      channels: rt.channels,
    }),
  ];
  if (config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN && config.PUBLIC_URL) {
    channels.push(
      createTwilioChannel({
        hub,
        keys,
        sessions: rt.operatorSessions,
        accountSid: config.TWILIO_ACCOUNT_SID,
        authToken: config.TWILIO_AUTH_TOKEN,
        publicUrl: config.PUBLIC_URL,
        apiBaseUrl: config.TWILIO_API_BASE_URL,
        perSecond: { whatsapp: config.TWILIO_WHATSAPP_MPS, sms: config.TWILIO_SMS_MPS },
        channels: rt.channels,
        allowPrivateUrls: config.INGEST_ALLOW_PRIVATE_URLS,
      }),
    );
  }
  return channels;
}

/**
 * Says at start when another database's hub used this QUEUE_PREFIX on this Redis: the two would take each
 * other's jobs. Without Redis yet, the start goes on unchecked.
 */
async function checkQueuePrefix(rt: Runtime, orgId: string) {
  if (!(await firstAttempt(rt.redis))) return;
  const other = await claimQueuePrefix(rt.redis, rt.config.QUEUE_PREFIX, orgId).catch(() => null);
  if (other) {
    rt.logger.warn(
      { queuePrefix: rt.config.QUEUE_PREFIX, databaseUrl: databaseLabel(rt.config), otherDefaultOrg: other },
      "QUEUE_PREFIX was used by the hub of another database on this Redis: if it still runs, the two take each other's jobs; give each hub its own QUEUE_PREFIX",
    );
  }
}

/** A server listening on a configured port; a port in use is a configuration error, said in one line. */
async function listen(handler: RequestListener, port: number, host: string, setting: string): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? new ConfigError(`port ${port} is in use: set ${setting} to a free port`) : err),
    );
    server.listen(port, host, resolve);
  });
  return server;
}

/** The OpenAPI document of every route and socket, from the zod schemas their handlers parse with. */
function apiDocument(channels: Channel[]) {
  return openApiDocument(
    {
      title: "AI hub",
      version: "0.1.0",
      description:
        "A messaging hub for AI assistants. Its REST APIs (the AI Hub ask API, the management API, the operator inbox, and the " +
        "conversation APIs of General Bots, botuj and the Conversation Service, all over one store), its sockets, and Twilio's webhooks. " +
        "Authenticate with `Authorization: Bearer <API key>` (see README: an org's first key comes from BOOTSTRAP_API_KEY or `npm run cli`).",
      tags: {
        "AI Hub ask": "One message in, the assistant's reply out: JSON, or server-sent events (seed 002).",
        "General Bots conversations":
          "Start a conversation with a bot, send messages, read its history (seed 001; the unprefixed paths are seed 000's).",
        "botuj conversations": "The org's conversations as botuj lists them, page by page (seed 003).",
        "Conversation Service": "Org-scoped conversations, chat sessions and streamed chat; every call names its `org_id` (seed 004).",
        "Management: keys": "Who an API key belongs to.",
        "Management: assistants": "The org's assistants: instructions, provider, model, knowledge folders, handoff.",
        "Management: knowledge folders": "The documents assistants answer from: text, files and web pages, searched per folder.",
        "Operator inbox": "Conversations a person was asked for: hand off, take over, write to the user, hand back.",
        Twilio: "WhatsApp and SMS through Twilio: its webhooks, and which assistant answers each receiving number.",
        WebSocket: "The chat widget's socket, the operators' socket, and the secret end-user tokens are signed with.",
        Console:
          "The operator console's API (/console): operators sign in with email and password to a session cookie; operators and transcripts.",
        Hub: "Probes, metrics and this document.",
      },
    },
    [
      ...askOperations,
      ...generalBotsOperations("/api/conversations"),
      ...generalBotsOperations("/conversations", true),
      ...botujOperations,
      ...conversationServiceOperations,
      ...managementOperations,
      ...inboxOperations,
      ...operatorMessageOperations,
      ...consoleOperations,
      ...insightsOperations,
      ...channels.flatMap((channel) => channel.operations ?? []),
      ...hubOperations,
    ],
  );
}

async function main() {
  let hub: RunningHub | null = null;
  let signalled: NodeJS.Signals | null = null;
  let stoppingSince = 0;
  const shutDown = async (running: RunningHub, signal: NodeJS.Signals) => {
    running.runtime.logger.info({ signal }, "shutting down");
    await running.stop();
    process.exit(0);
  };
  // Listened for before the start: a signal while the hub starts (a process manager, a quick Ctrl-C) stops it
  // once it is up, rather than killing it half-way by the signal's default action.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      // A second signal stops at once. Not the same Ctrl-C twice: the terminal signals both npm and the
      // hub, and npm passes its own on to the hub a moment later.
      if (stoppingSince) {
        if (Date.now() - stoppingSince > 1000) process.exit(1);
        return;
      }
      stoppingSince = Date.now();
      signalled = signal;
      if (hub) void shutDown(hub, signal);
    });
  }
  try {
    hub = await startHub(loadConfig());
  } catch (err) {
    // A start that cannot work says what to change in one line, not a stack.
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  if (signalled) await shutDown(hub, signalled);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
