import type { Db } from "./db/database";
import type { Message } from "./generated/prisma/client";
import { Prisma } from "./generated/prisma/client";
import type { InboundMessage, StoredMessage, WireMessage } from "./types";

export interface TurnOptions {
  assistant: InboundMessage["assistant"];
  folderIds?: string[];
}

/** Creates the conversation on first use, or merges new metadata into it; one statement either way. */
export async function upsertConversation(
  prisma: Db,
  m: Pick<InboundMessage, "orgId" | "conversationKey" | "channel" | "userId" | "metadata">,
  assistantId: string | null,
): Promise<{ id: string; status: string }> {
  const rows = await prisma.$queryRaw<{ id: string; status: string }[]>`
    INSERT INTO conversations (id, org_id, external_id, channel, assistant_id, user_id, metadata, updated_at)
    VALUES (gen_random_uuid(), ${m.orgId}::uuid, ${m.conversationKey}, ${m.channel}, ${assistantId}::uuid,
            ${m.userId ?? null}, ${JSON.stringify(m.metadata ?? {})}::jsonb, now())
    ON CONFLICT (org_id, external_id) DO UPDATE SET
      metadata = conversations.metadata || EXCLUDED.metadata,
      assistant_id = COALESCE(EXCLUDED.assistant_id, conversations.assistant_id),
      last_activity_at = now(), updated_at = now()
    RETURNING id, status`;
  return rows[0];
}

const isUniqueViolation = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002";

/**
 * Stores an inbound message once per (conversation, channel message id). Returns the stored row and
 * whether it already existed (a retried webhook or request).
 */
export async function insertInbound(
  prisma: Db,
  conversationId: string,
  m: InboundMessage,
  options: TurnOptions | null,
): Promise<{ message: Message; duplicate: boolean }> {
  const data = {
    conversationId,
    sessionId: m.sessionId,
    externalId: m.externalId,
    role: m.role,
    content: m.content,
    attachments: (m.attachments ?? []) as unknown as Prisma.InputJsonValue,
    metadata: (m.metadata ?? {}) as Prisma.InputJsonValue,
    status: m.role === "user" ? "pending" : "context",
    turnOptions: options ? (options as unknown as Prisma.InputJsonValue) : Prisma.DbNull,
  };
  try {
    return { message: await prisma.message.create({ data }), duplicate: false };
  } catch (err) {
    if (!m.externalId || !isUniqueViolation(err)) throw err;
    const existing = await prisma.message.findUniqueOrThrow({
      where: { conversationId_externalId: { conversationId, externalId: m.externalId } },
    });
    return { message: existing, duplicate: true };
  }
}

export const replyTo = (prisma: Db, messageId: string) => prisma.message.findUnique({ where: { inReplyToId: messageId } });

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
}

/**
 * Stores the reply to `turn` and closes the turn, in one transaction. A reply already stored for it (a
 * retried or recovered job) wins: the turn is answered at most once.
 */
export async function storeReply(prisma: Db, turn: Message, reply: ReplyInput): Promise<{ message: Message; created: boolean }> {
  try {
    const [message] = await prisma.$transaction([
      prisma.message.create({
        data: {
          conversationId: turn.conversationId,
          sessionId: turn.sessionId,
          role: "assistant",
          content: reply.content,
          status: "sent",
          inReplyToId: turn.id,
          tokensUsed: reply.tokensUsed,
          processingMs: Date.now() - turn.createdAt.getTime(),
          sources: reply.sources,
          error: reply.error,
        },
      }),
      prisma.message.update({
        where: { id: turn.id },
        data: { status: reply.error ? "failed" : "answered", error: reply.error ?? null },
      }),
      prisma.conversation.update({ where: { id: turn.conversationId }, data: { lastActivityAt: new Date() } }),
    ]);
    return { message, created: true };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    return { message: await prisma.message.findUniqueOrThrow({ where: { inReplyToId: turn.id } }), created: false };
  }
}

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
