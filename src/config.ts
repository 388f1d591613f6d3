import { createHash } from "node:crypto";
import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const ms = z.coerce.number().int().positive();
const burstMs = z.coerce.number().int().min(0).max(2_000).default(1_500);
const list = z
  .string()
  .default("")
  .transform((v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
/** Browser origins, comma-separated, as a browser sends them (no trailing slash). */
const origins = list.transform((v) => v.map((o) => o.replace(/\/$/, "")));
/** An IP address, or a network in CIDR notation (10.0.0.0/8, fd00::/8). */
const addressOrNetwork = z.string().refine((v) => {
  const [ip, bits, ...rest] = v.split("/");
  const max = isIP(ip) === 6 ? 128 : 32;
  return isIP(ip) !== 0 && !rest.length && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max));
}, "must be IP addresses or CIDR networks, such as 10.0.0.0/8");

// The whole environment of the hub, parsed once at start: nothing else reads process.env.
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  ROLE: z.enum(["all", "gateway", "worker"]).default("all"),
  REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
  // Keys of queues and the bus start with `{QUEUE_PREFIX}`: a hash tag, so Redis Cluster keeps them on one slot.
  // Hubs sharing a Redis need one each, or they take each other's jobs: unset, it is named after the database
  // (see queuePrefixOf).
  QUEUE_PREFIX: z
    .string()
    .regex(/^[\w.-]+$/)
    .optional(),
  DATABASE_URL: z.url().optional(),
  DATA_DIR: z.string().default("./.data"),
  // Each start applies the migrations it lacks. A deploy pipeline that runs `npm run migrate` once (and
  // gives the hub's own database user no right to change tables) sets this to false: a start then refuses a
  // database that lacks one.
  MIGRATE_ON_START: bool.default(true),
  ASSISTANT_PROVIDER: z.enum(["knowledge", "openai"]).default("knowledge"),
  OPENAI_BASE_URL: z.url().default("https://api.openai.com/v1"),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().default("gpt-4o-mini"),
  OPENAI_STREAM: bool.default(true),
  OPENAI_TIMEOUT_MS: ms.default(60_000),
  OPENAI_ANSWER_TIMEOUT_MS: ms.default(180_000),
  OPENAI_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  // A turn the assistant could not be reached for gets the fallback reply at once; its real answer follows if
  // the assistant answers within this long and the user has not written since. 0: the fallback is final.
  MODEL_RETRY_FOR_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
  // Semantic search of the knowledge folders, on when a base URL is set: any OpenAI-compatible /embeddings.
  EMBEDDINGS_BASE_URL: z.url().optional(),
  EMBEDDINGS_MODEL: z.string().default("text-embedding-3-small"),
  EMBEDDINGS_API_KEY: z.string().optional(),
  // A passage less similar (cosine) than this to a question is no match by meaning. Models differ: 0.3 suits
  // OpenAI's text-embedding-3 models; models whose unrelated texts score higher need a higher floor.
  EMBEDDINGS_MIN_SIMILARITY: z.coerce.number().min(-1).max(1).default(0.3),
  // How long a question's vector (and a document posted as JSON) may take before full text answers alone;
  // after one failed or timed out, replies skip the embeddings server for 30 s.
  EMBEDDINGS_QUERY_TIMEOUT_MS: ms.default(2_000),
  BOOTSTRAP_API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // How long a synchronous ask waits for its reply before answering 202 (the reply is still stored).
  ASK_TIMEOUT_MS: ms.default(120_000),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(60),
  // The console (issue #15): how long a session lasts unused (each use moves it on), and the login attempts
  // allowed a minute for one email and from one address, against password guessing.
  CONSOLE_SESSION_HOURS: z.coerce.number().positive().default(12),
  CONSOLE_LOGINS_PER_EMAIL_PER_MINUTE: z.coerce.number().int().positive().default(5),
  CONSOLE_LOGINS_PER_ADDRESS_PER_MINUTE: z.coerce.number().int().positive().default(20),
  // Turns a worker process runs at once. A turn mostly waits on the assistant (seconds for an LLM), holding
  // only memory and a socket: with 64, a 2-second model capped a worker at 32 turns/s on an idle machine.
  // Past this, the model's own limits (429 and Retry-After) and MAX_QUEUE_BACKLOG bound the work.
  WORKER_CONCURRENCY: z.coerce.number().int().positive().default(1000),
  // A worker that dies mid-turn holds its job this long before another worker takes it over.
  JOB_LOCK_MS: ms.default(30_000),
  SWEEP_INTERVAL_MS: ms.default(5_000),
  // A message still pending this long after it was accepted, with no job for it, is enqueued again.
  SWEEP_AFTER_MS: ms.default(15_000),
  // Load shedding: past these, new messages get 503 with Retry-After instead of queueing without bound.
  MAX_QUEUE_BACKLOG: z.coerce.number().int().positive().default(10_000),
  MAX_WAITING_ASKS: z.coerce.number().int().positive().default(2_000),
  HISTORY_TURNS: z.coerce.number().int().positive().default(20),
  // Bursts: messages a user sends within this long of each other are answered together, in one turn with one
  // reply (people write "hi", "I have a question", "about my order" as three messages). Each waits this long
  // before it is answered, so at most 2 s; 0 answers each message alone. The ask API never waits.
  WHATSAPP_BURST_MS: burstMs,
  SMS_BURST_MS: burstMs,
  WS_BURST_MS: burstMs,
  // Handoff to a person. What the user is told when a person is asked for (an assistant may set its own); after
  // how many assistant answers in a row without relevant knowledge it hands off by itself (0: never, the default:
  // a hub nobody staffs would hold its users' messages; an assistant may set its own).
  HANDOFF_MESSAGE: z.string().default("I'm passing you to a person on our team. They will answer here as soon as they can."),
  HANDOFF_AFTER_MISSES: z.coerce.number().int().min(0).default(0),
  // A conversation waiting this long with no operator taking it gets HANDOFF_TIMEOUT_MESSAGE (once), and with
  // HANDOFF_TIMEOUT_RELEASE (the default: a hub nobody staffs answers again) goes back to the assistant.
  HANDOFF_TIMEOUT_MS: ms.default(15 * 60_000),
  HANDOFF_TIMEOUT_MESSAGE: z.string().default("Sorry, nobody from our team is free right now. I'm here again to help in the meantime."),
  HANDOFF_TIMEOUT_RELEASE: bool.default(true),
  // Handoff events (requested, taken, released, timed out) are POSTed here, signed with HANDOFF_WEBHOOK_SECRET
  // (X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>), and retried with backoff.
  HANDOFF_WEBHOOK_URL: z.url().optional(),
  HANDOFF_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  // End-user tokens (the widget's signed-in users): when set, a token's `aud` and `iss` must be these; a token
  // whose `exp` (or `nbf`) is off by no more than the tolerance still counts, for clocks that differ a little.
  END_USER_TOKEN_AUDIENCE: z.string().optional(),
  END_USER_TOKEN_ISSUER: z.string().optional(),
  END_USER_TOKEN_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).max(300).default(0),
  // The /ws channel. Browser origins besides the hub's own that may open a socket ("*" for any), comma-separated.
  WS_ALLOWED_ORIGINS: origins,
  // Browser origins whose scripts may call the HTTP APIs (CORS; "*" for any), comma-separated. None by default:
  // the widget uses /ws only, and API keys belong on servers.
  CORS_ALLOWED_ORIGINS: origins,
  WS_MAX_FRAME_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  // A socket that does not answer a ping within one interval is dropped.
  WS_HEARTBEAT_MS: ms.default(30_000),
  // An anonymous session idle this long ends, and its history is deleted.
  WS_ANONYMOUS_TTL_MS: ms.default(30 * 60_000),
  // What anonymous visitors from one client address may use between them, on every gateway (0: no limit):
  // messages a minute across all their sessions, and sockets open at once and opened a minute.
  WS_ANONYMOUS_PER_ADDRESS_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  WS_ANONYMOUS_SESSIONS_PER_ADDRESS: z.coerce.number().int().min(0).default(20),
  // Each new anonymous socket stores a session and a conversation: opened and closed in a loop, they are
  // bounded by this, not by the number open at once.
  WS_ANONYMOUS_SESSIONS_PER_ADDRESS_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  // The load balancers and proxies in front of the hub, whose X-Forwarded-For names the client. Nobody
  // else's is believed: anyone can send the header.
  TRUSTED_PROXIES: list.pipe(z.array(addressOrNetwork)),
  SHUTDOWN_TIMEOUT_MS: ms.default(25_000),
  // Prometheus metrics name no org or user, but say how busy the hub is: never public by default. With a
  // port, a server of its own serves them (in every role); without one, the API port does, for the token only.
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().default("127.0.0.1"),
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  // The Twilio channel (WhatsApp and SMS), on when the account's credentials are set.
  TWILIO_ACCOUNT_SID: z.string().optional(),
  TWILIO_AUTH_TOKEN: z.string().optional(),
  // The base URL Twilio reaches the hub at: webhook signatures are computed over it, behind any proxy.
  PUBLIC_URL: z
    .url()
    .transform((v) => v.replace(/\/+$/, ""))
    .optional(),
  // Unset: Twilio's own API. Set: the hub sends there instead (a test double, a regional proxy).
  TWILIO_API_BASE_URL: z.url().optional(),
  // A reply Twilio cannot take yet (down, 5xx, 429, unreachable) is tried again, at most this long apart,
  // until this long after it was written; then it is marked failed. A day rides out a long Twilio outage, and
  // past it a WhatsApp reply falls outside the 24-hour window unless the user wrote again.
  DELIVER_MAX_BACKOFF_MS: ms.default(5 * 60_000),
  DELIVER_RETRY_FOR_MS: ms.default(24 * 3600_000),
  // Messages a second sent from one number; 0: unpaced. Twilio's documented defaults: a WhatsApp sender takes
  // 80 MPS (https://www.twilio.com/docs/whatsapp/best-practices-and-faqs), a long-code SMS number one message
  // segment a second (https://www.twilio.com/help/faq/sms/how-quickly-can-i-send-sms-messages; toll-free: 3).
  TWILIO_WHATSAPP_MPS: z.coerce.number().min(0).default(80),
  TWILIO_SMS_MPS: z.coerce.number().min(0).default(1),
  // Voice notes: transcribed through an OpenAI-compatible /audio/transcriptions endpoint when its base URL is
  // set; otherwise (and when one cannot be read) the user is told VOICE_NOTE_REPLY. WhatsApp's audio limit is 16 MB.
  TRANSCRIBE_BASE_URL: z.url().optional(),
  TRANSCRIBE_MODEL: z.string().default("whisper-1"),
  TRANSCRIBE_API_KEY: z.string().optional(),
  TRANSCRIBE_TIMEOUT_MS: ms.default(60_000),
  VOICE_NOTE_REPLY: z.string().min(1).default("Sorry, I can't listen to voice messages yet. Please type your message."),
  VOICE_NOTE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(16 * 1024 * 1024),
  VOICE_NOTE_MAX_SECONDS: z.coerce.number().min(1).default(300),
  // Knowledge files and web pages: the largest upload or page taken, and how a page is fetched. Private and
  // loopback addresses are refused unless allowed (an intranet wiki; tests), so that a URL cannot reach into
  // the hub's own network.
  INGEST_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024),
  INGEST_ALLOW_PRIVATE_URLS: bool.default(false),
  INGEST_FETCH_TIMEOUT_MS: ms.default(20_000),
  // Documents a worker process ingests at once (fetched, parsed, embedded); their files are read one at a
  // time, in a worker thread (below).
  INGEST_CONCURRENCY: z.coerce.number().int().positive().default(2),
  // PDF, DOCX and HTML are read in a worker thread, one at a time: a file that needs more memory (the
  // process's growth while it is read, in MB) or more time than this is refused, not retried.
  INGEST_PARSE_MEMORY_MB: z.coerce.number().int().min(64).default(512),
  INGEST_PARSE_TIMEOUT_MS: ms.default(60_000),
});

export type Config = Omit<z.infer<typeof schema>, "QUEUE_PREFIX"> & { QUEUE_PREFIX: string };

/** The variables the hub reads, every one (.env.example and the deploy examples are checked against it). */
export const configVariables = Object.keys(schema.shape);

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means unset, as in most twelve-factor apps.
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema
    .refine((c) => !c.TWILIO_ACCOUNT_SID === !c.TWILIO_AUTH_TOKEN, {
      path: ["TWILIO_AUTH_TOKEN"],
      message: "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set together",
    })
    .refine((c) => !c.HANDOFF_WEBHOOK_URL || c.HANDOFF_WEBHOOK_SECRET, {
      path: ["HANDOFF_WEBHOOK_SECRET"],
      message: "required with HANDOFF_WEBHOOK_URL: the integrator checks each event's signature with it",
    })
    .refine((c) => !c.TWILIO_ACCOUNT_SID || c.PUBLIC_URL, {
      path: ["PUBLIC_URL"],
      message: "required with TWILIO_ACCOUNT_SID: Twilio signs its webhooks over the URL it calls",
    })
    // A local server (Ollama, vLLM) may need no key; OpenAI's own API refuses every call without one.
    .refine((c) => c.ASSISTANT_PROVIDER !== "openai" || c.OPENAI_API_KEY || new URL(c.OPENAI_BASE_URL).hostname !== "api.openai.com", {
      path: ["OPENAI_API_KEY"],
      message: "required with ASSISTANT_PROVIDER=openai on OpenAI's API (or set OPENAI_BASE_URL to your own server)",
    })
    .safeParse(given);
  if (parsed.success) return { ...parsed.data, QUEUE_PREFIX: parsed.data.QUEUE_PREFIX ?? queuePrefixOf(parsed.data) };
  const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
}

/** Where the embedded database keeps its files, or null when there are none (a server, or memory://). */
export function embeddedDir(config: { DATABASE_URL?: string; DATA_DIR: string }): string | null {
  return config.DATABASE_URL || config.DATA_DIR === "memory://" ? null : path.join(config.DATA_DIR, "pglite");
}

/**
 * The default QUEUE_PREFIX, from the database the hub keeps its data in, so that two hubs of different
 * databases on one Redis keep their jobs apart: `hub-<database name>` on a Postgres server (its name only:
 * a gateway and a worker may reach the same server under different host names), `hub-<hash>` of an embedded
 * database's directory. A gateway and its workers share their database, and so their prefix.
 */
export function queuePrefixOf(config: { DATABASE_URL?: string; DATA_DIR: string }): string {
  if (config.DATABASE_URL) {
    const url = new URL(config.DATABASE_URL);
    // Postgres's default database is the user's own.
    const name = decodeURIComponent(url.pathname.slice(1) || url.username) || "postgres";
    return `hub-${name.replace(/[^\w.-]/g, "_")}`;
  }
  const dir = embeddedDir(config);
  return dir ? `hub-${createHash("sha256").update(path.resolve(dir)).digest("hex").slice(0, 10)}` : "hub";
}

/** The database, as a start's log line names it: no credentials. */
export function databaseLabel(config: { DATABASE_URL?: string; DATA_DIR: string }): string {
  if (!config.DATABASE_URL) return embeddedDir(config) ? path.resolve(embeddedDir(config) as string) : "memory://";
  const url = new URL(config.DATABASE_URL);
  return `${url.protocol}//${url.host}${url.pathname}`;
}
