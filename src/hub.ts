import { randomUUID } from "node:crypto";
import type { Queue } from "bullmq";
import { type AssistantLookup, assistantNotFound } from "./assistants/store";
import type { Batcher } from "./batch";
import type { ReplyBus } from "./bus";
import { HELD, type Inserted, type PendingInbound, replyTo, type TurnOptions, toWire } from "./conversations";
import type { Db, Sql } from "./db/database";
import { HubError, invalid } from "./errors";
import type { Message } from "./generated/prisma/client";
import type { Logger } from "./logger";
import { metrics } from "./metrics";
import type { DeliveryStatements } from "./outbound";
import { type AskJob, askJob, type Backlog } from "./queue";
import type { RateLimiter } from "./ratelimit";
import type { InboundMessage } from "./types";

export interface Accepted {
  conversationId: string;
  message: Message;
  /** The same channel message id was accepted before: nothing new was stored. */
  duplicate: boolean;
  /** A reply already stored for this message (a retry after the turn finished). */
  reply: Message | null;
  /** False when the queue could not be reached: the message is kept pending and the sweeper enqueues it. */
  queued: boolean;
  /** Replies held for the user's window that this message reopened (src/window.ts), now unsent, to deliver. */
  released: string[];
}

export interface HubDeps {
  prisma: Db;
  /** Statements straight to the driver, for the hot path's own (src/outbound.ts). */
  sql: Sql;
  /** The deliveries' statements, shared by the deliver workers and the providers' status callbacks. */
  deliveries: DeliveryStatements;
  assistants: AssistantLookup;
  queue: Queue<AskJob>;
  /** Inbound messages are stored in batches (src/batch.ts), and their turns queued in batches. */
  inserts: Batcher<PendingInbound, Inserted>;
  enqueues: Batcher<AskJob, undefined>;
  bus: ReplyBus;
  limiter: RateLimiter;
  logger: Logger;
  messagesPerMinute: number;
  backlog: Backlog;
  /** Above this many turns waiting for a worker, new messages are refused (503) rather than queued. */
  maxBacklog: number;
  /** Each channel's burst window (AskJob.burstMs); a channel not named answers each message alone. */
  burstMs: Record<string, number>;
}

export interface AcceptHooks {
  /** Called when a user message is about to be queued: a caller waiting for the reply starts listening here. */
  beforeQueue?: (accepted: Accepted) => void;
}

/**
 * The one entry of every channel: validate, authorize, rate-limit, persist idempotently, enqueue. The
 * message is in Postgres before the queue is touched, so a crash or a Redis outage after this point
 * leaves it `pending` for the sweeper, never lost.
 */
export async function accept(deps: HubDeps, m: InboundMessage, hooks: AcceptHooks = {}): Promise<Accepted> {
  const { prisma } = deps;
  let assistantId: string | null = null;
  if ("ref" in m.assistant) {
    const found = await deps.assistants.find(m.orgId, m.assistant.ref);
    if (!found?.deployed) throw assistantNotFound(m.assistant.ref);
    assistantId = found.id;
  }
  if (m.folderIds?.length) await checkFolders(prisma, m.orgId, m.folderIds);
  if (m.role === "user") {
    if ((await deps.backlog.current()) > deps.maxBacklog) throw overloaded();
    await deps.limiter.take("messages", `${m.orgId}:${m.rateKey ?? m.userId ?? m.conversationKey}`, deps.messagesPerMinute);
  }

  const options: TurnOptions | null =
    m.role === "user"
      ? {
          assistant: m.assistant,
          folderIds: m.folderIds,
          ...(m.fromPublic ? { fromPublic: true } : {}),
          ...(m.stream ? { stream: true } : {}),
        }
      : null;
  const { conversationId, message, duplicate, released } = await deps.inserts.submit({ id: randomUUID(), m, assistantId, options });
  const reply = duplicate ? await replyTo(prisma, message.id) : null;
  if (!duplicate) metrics.inbound.inc({ channel: m.channel });
  const accepted: Accepted = { conversationId, message, duplicate, reply, queued: false, released };
  // Held (a person has the conversation): stored and shown like any message, but no turn is queued.
  if (message.status === HELD && !duplicate) {
    deps.bus.publish({ type: "accepted", orgId: m.orgId, conversationId, turnId: message.id, message: toWire(message) }).catch(() => {});
  }
  if (message.status !== "pending") return accepted;
  if (!duplicate) {
    // Other devices of the same user see the message too; losing this event loses nothing stored. Sent
    // before the job is added, on the same Redis connection, so it reaches listeners before any event of
    // the turn.
    deps.bus.publish({ type: "accepted", orgId: m.orgId, conversationId, turnId: message.id, message: toWire(message) }).catch(() => {});
  }

  hooks.beforeQueue?.(accepted);
  try {
    const burstMs = deps.burstMs[m.channel];
    await deps.enqueues.submit(burstMs ? { ...askJob(message), burstMs } : askJob(message));
    accepted.queued = true;
  } catch (err) {
    deps.logger.warn({ turn: message.id, err: (err as Error).message }, "queue unreachable; message kept pending");
  }
  return accepted;
}

const overloaded = () =>
  new HubError(503, "unavailable", "The hub is overloaded: nothing was stored; send the message again in a few seconds", { retryAfter: 5 });

async function checkFolders(prisma: Db, orgId: string, folderIds: string[]) {
  const found = await prisma.folder.findMany({ where: { orgId, id: { in: folderIds.filter(isUuidLike) } }, select: { id: true } });
  const known = new Set(found.map((f) => f.id));
  const issues = folderIds.flatMap((id, i) => (known.has(id) ? [] : [{ field: `foldersId.${i}`, message: `Folder ${id} not found` }]));
  if (issues.length) throw invalid("Unknown knowledge folder", issues);
}

const isUuidLike = (s: string) => /^[0-9a-f-]{36}$/i.test(s);
