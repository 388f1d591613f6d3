import type { Db } from "./db/database";
import type { Message } from "./generated/prisma/client";
import { Prisma } from "./generated/prisma/client";
import { UNSENT } from "./outbound";
import type { InboundMessage, ReplyAddress, StoredMessage, WireMessage } from "./types";

export interface TurnOptions {
  assistant: InboundMessage["assistant"];
  folderIds?: string[];
  fromPublic?: boolean;
}

// A messages row under the Prisma model's field names, for raw statements that return messages.
const MESSAGE_FIELDS = Prisma.sql`id::text, seq, conversation_id::text AS "conversationId", session_id::text AS "sessionId",
  external_id AS "externalId", role, content, attachments, metadata, status, in_reply_to_id::text AS "inReplyToId", error,
  tokens_used AS "tokensUsed", processing_ms AS "processingMs", sources, provider_id AS "providerId",
  turn_options AS "turnOptions", reply_address AS "replyAddress", follow_up_of_id::text AS "followUpOfId",
  created_at AS "createdAt"`;

type ConversationInput = Pick<InboundMessage, "orgId" | "conversationKey" | "channel" | "userId" | "metadata">;

/** The statement that creates the conversation on first use, or merges new metadata into it. */
const conversationUpsert = (m: ConversationInput, assistantId: string | null) => Prisma.sql`
  INSERT INTO conversations (id, org_id, external_id, channel, assistant_id, user_id, metadata, updated_at)
  VALUES (gen_random_uuid(), ${m.orgId}::uuid, ${m.conversationKey}, ${m.channel}, ${assistantId}::uuid,
          ${m.userId ?? null}, ${JSON.stringify(m.metadata ?? {})}::jsonb, now())
  ON CONFLICT (org_id, external_id) DO UPDATE SET
    metadata = conversations.metadata || EXCLUDED.metadata,
    assistant_id = COALESCE(EXCLUDED.assistant_id, conversations.assistant_id),
    last_activity_at = now(), updated_at = now()
  RETURNING id`;

/** Creates the conversation on first use, or merges new metadata into it; one statement either way. */
export async function upsertConversation(prisma: Db, m: ConversationInput, assistantId: string | null): Promise<{ id: string }> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`${conversationUpsert(m, assistantId)}`;
  return rows[0];
}

function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  // A raw statement reports the driver's error (P2010) where a model query reports P2002.
  const cause = (err.meta?.driverAdapterError as { cause?: { kind?: string } } | undefined)?.cause;
  return err.code === "P2002" || cause?.kind === "UniqueConstraintViolation";
}

/**
 * Stores an inbound message once per (conversation, channel message id), creating or touching its
 * conversation in the same statement. Returns the stored row and whether it already existed (a retried
 * webhook or request).
 */
export async function insertInbound(
  prisma: Db,
  m: InboundMessage,
  assistantId: string | null,
  options: TurnOptions | null,
): Promise<{ conversationId: string; message: Message; duplicate: boolean }> {
  const [inserted] = await prisma.$queryRaw<Message[]>`
    WITH conversation AS (${conversationUpsert(m, assistantId)})
    INSERT INTO messages (id, conversation_id, session_id, external_id, role, content, attachments, metadata, status, turn_options,
                          reply_address)
    SELECT gen_random_uuid(), conversation.id, ${m.sessionId ?? null}::uuid, ${m.externalId ?? null}, ${m.role}, ${m.content},
           ${JSON.stringify(m.attachments ?? [])}::jsonb, ${JSON.stringify(m.metadata ?? {})}::jsonb,
           ${m.role === "user" ? "pending" : "context"}, ${options ? JSON.stringify(options) : null}::jsonb,
           ${m.replyAddress ? JSON.stringify(m.replyAddress) : null}::jsonb
    FROM conversation
    ON CONFLICT (conversation_id, external_id) DO NOTHING
    RETURNING ${MESSAGE_FIELDS}`;
  if (inserted) return { conversationId: inserted.conversationId, message: inserted, duplicate: false };
  // Only a message with a channel id can conflict: the one stored the first time is the answer.
  const existing = await prisma.message.findFirstOrThrow({
    where: { externalId: m.externalId, conversation: { orgId: m.orgId, externalId: m.conversationKey } },
  });
  return { conversationId: existing.conversationId, message: existing, duplicate: true };
}

export const replyTo = (prisma: Db, messageId: string) => prisma.message.findUnique({ where: { inReplyToId: messageId } });

/**
 * The conversation's unanswered user messages up to `seq`, oldest first, with the org the conversation
 * belongs to: what a turn job answers, in one query.
 */
export function dueMessages(prisma: Db, conversationId: string, seq: bigint): Promise<(Message & { orgId: string })[]> {
  return prisma.$queryRaw`
    SELECT ${MESSAGE_FIELDS}, (SELECT org_id::text FROM conversations WHERE id = ${conversationId}::uuid) AS "orgId"
    FROM messages
    WHERE conversation_id = ${conversationId}::uuid AND status = 'pending' AND role = 'user' AND seq <= ${seq}
    ORDER BY seq`;
}

/** The conversation's messages before `seq`, oldest first: what a turn sees. */
export async function historyBefore(prisma: Db, conversationId: string, seq: bigint, limit: number) {
  const rows = await prisma.message.findMany({
    where: { conversationId, seq: { lt: seq } },
    orderBy: { seq: "desc" },
    take: limit,
    select: { role: true, content: true },
  });
  return rows.reverse() as { role: StoredMessage["role"]; content: string }[];
}

export interface ReplyInput {
  content: string;
  tokensUsed: number;
  sources: string[];
  /** Set when the turn failed and this is the fallback the user sees. */
  error?: string;
  /** With error: the assistant could not be reached, and the turn is left RETRYING for a follow-up. */
  followUp?: boolean;
}

/** A turn answered with the fallback because the assistant could not be reached; its follow-up may come. */
export const RETRYING = "retrying";

/**
 * Stores the reply to `turn`, closes the turn and marks the conversation active, in one statement: one
 * round trip, and all or nothing. A reply already stored for it (a retried or recovered job) makes the
 * insert fail and the whole statement with it: the turn is answered at most once. A reply in a conversation
 * to a turn that came with a reply address of `deliveredVia` (a signed Twilio webhook) is stored UNSENT: the
 * deliver worker sends it, and the outbox finds it if its job is lost.
 */
export async function storeReply(
  prisma: Db,
  turn: Message,
  reply: ReplyInput,
  deliveredVia: string[] = [],
): Promise<{ message: Message; created: boolean }> {
  try {
    const [message] = await prisma.$queryRaw<Message[]>`
      WITH closed AS (
        UPDATE messages SET status = ${turnStatus(reply)}, error = ${reply.error ?? null}
        WHERE id = ${turn.id}::uuid
      ), touched AS (
        UPDATE conversations SET last_activity_at = now(), updated_at = now() WHERE id = ${turn.conversationId}::uuid
      )
      INSERT INTO messages (id, conversation_id, session_id, role, content, status, in_reply_to_id, tokens_used,
                            processing_ms, sources, error)
      VALUES (gen_random_uuid(), ${turn.conversationId}::uuid, ${turn.sessionId}::uuid, 'assistant', ${reply.content},
              ${replyStatus(turn, deliveredVia)}, ${turn.id}::uuid, ${reply.tokensUsed},
              ${Date.now() - turn.createdAt.getTime()}, ${reply.sources}::text[], ${reply.error ?? null})
      RETURNING ${MESSAGE_FIELDS}`;
    return { message, created: true };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return { message: await prisma.message.findUniqueOrThrow({ where: { inReplyToId: turn.id } }), created: false };
  }
}

const turnStatus = (reply: ReplyInput) => (!reply.error ? "answered" : reply.followUp ? RETRYING : "failed");

/**
 * Stores the follow-up of a RETRYING turn and marks the turn answered, in one statement, only while it is
 * still retrying and the user has not written since in the conversation (the follow-up would answer a
 * question they moved on from). Returns null when it stored nothing. The status guard, and the unique
 * follow_up_of_id under it, make a second follow-up of a turn impossible.
 */
export async function storeFollowUp(prisma: Db, turn: Message, reply: ReplyInput, deliveredVia: string[] = []): Promise<Message | null> {
  const [message] = await prisma.$queryRaw<Message[]>`
    WITH answered AS (
      UPDATE messages SET status = 'answered', error = NULL
      WHERE id = ${turn.id}::uuid AND status = ${RETRYING} AND NOT ${userWroteSince(turn)}
      RETURNING id
    ), touched AS (
      UPDATE conversations SET last_activity_at = now(), updated_at = now()
      WHERE id = ${turn.conversationId}::uuid AND EXISTS (SELECT 1 FROM answered)
    )
    INSERT INTO messages (id, conversation_id, session_id, role, content, status, follow_up_of_id, tokens_used,
                          processing_ms, sources)
    SELECT gen_random_uuid(), ${turn.conversationId}::uuid, ${turn.sessionId}::uuid, 'assistant', ${reply.content},
           ${replyStatus(turn, deliveredVia)}, answered.id, ${reply.tokensUsed},
           ${Date.now() - turn.createdAt.getTime()}, ${reply.sources}::text[]
    FROM answered
    RETURNING ${MESSAGE_FIELDS}`;
  return message ?? null;
}

/** Ends a RETRYING turn without a follow-up: it stays answered by its fallback reply. */
export async function endRetrying(prisma: Db, turnId: string): Promise<void> {
  await prisma.message.updateMany({ where: { id: turnId, status: RETRYING }, data: { status: "failed" } });
}

/** Whether the user wrote in the turn's conversation after it. */
export async function wroteSince(prisma: Db, turn: Message): Promise<boolean> {
  const [row] = await prisma.$queryRaw<{ wrote: boolean }[]>`SELECT ${userWroteSince(turn)} AS wrote`;
  return row.wrote;
}

const userWroteSince = (turn: Message) => Prisma.sql`
  EXISTS (SELECT 1 FROM messages later
          WHERE later.conversation_id = ${turn.conversationId}::uuid AND later.role = 'user' AND later.seq > ${turn.seq})`;

/**
 * A new assistant message's status: UNSENT when an API channel of this hub sends it, which only a turn's
 * verified reply address decides (not the conversation's channel: a message posted into a WhatsApp
 * conversation through a REST API has no address to send to), else sent.
 */
const replyStatus = (turn: Message, deliveredVia: string[]) => {
  const via = (turn.replyAddress as ReplyAddress | null)?.via;
  return via && deliveredVia.includes(via) ? UNSENT : "sent";
};

export function toWire(m: Message, suggestions?: string[]): WireMessage {
  return {
    id: m.id,
    role: m.role as WireMessage["role"],
    content: m.content,
    createdAt: m.createdAt.toISOString(),
    inReplyToId: m.inReplyToId,
    tokensUsed: m.tokensUsed,
    processingMs: m.processingMs,
    sources: m.sources,
    ...(suggestions?.length ? { suggestions } : {}),
  };
}
