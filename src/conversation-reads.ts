import { isUuid } from "./assistants/store";
import type { Db } from "./db/database";
import { invalid } from "./errors";
import { type Conversation, type Message, Prisma } from "./generated/prisma/client";

// Read queries the conversation APIs share. Every page is cut by the database (LIMIT/OFFSET or a seq
// bound on an index), never by slicing rows in memory; every query is scoped to one org.

/** A conversation of the org by its id, or by the id its channel knows (`conv-1`, `whatsapp_+351…`). */
export function findConversation(prisma: Db, orgId: string, ref: string): Promise<Conversation | null> {
  return prisma.conversation.findFirst({
    where: isUuid(ref) ? { orgId, OR: [{ id: ref }, { externalId: ref }] } : { orgId, externalId: ref },
  });
}

/** Whether a conversation with this id exists in some other org: the APIs that say 403 for it need to know. */
export async function existsInAnotherOrg(prisma: Db, orgId: string, ref: string): Promise<boolean> {
  if (!isUuid(ref)) return false;
  return (await prisma.conversation.count({ where: { id: ref, orgId: { not: orgId } } })) > 0;
}

/** A bound of a history page: a message of the conversation (exact), or a point in time. */
export type HistoryBound = { messageId: string } | { at: Date };

export interface HistoryPage {
  messages: Message[];
  /** More messages lie beyond the page: older ones when paging back, newer ones when paging on from `after`. */
  hasMore: boolean;
}

/**
 * One page of a conversation's messages, oldest first. Without `after` it is the latest `limit` messages
 * (before `before`, if given), and hasMore means older ones exist; with `after` it is the first `limit`
 * messages after it, and hasMore means newer ones exist.
 */
export async function pageHistory(
  prisma: Db,
  conversationId: string,
  page: { limit: number; before?: HistoryBound; after?: HistoryBound },
): Promise<HistoryPage> {
  const [before, after] = await Promise.all([
    page.before && bound(prisma, conversationId, page.before, "before", "lt"),
    page.after && bound(prisma, conversationId, page.after, "after", "gt"),
  ]);
  const forward = Boolean(page.after);
  const rows = await prisma.message.findMany({
    where: { conversationId, AND: [before ?? {}, after ?? {}] },
    orderBy: { seq: forward ? "asc" : "desc" },
    take: page.limit + 1,
  });
  const hasMore = rows.length > page.limit;
  const messages = rows.slice(0, page.limit);
  return { messages: forward ? messages : messages.reverse(), hasMore };
}

async function bound(
  prisma: Db,
  conversationId: string,
  b: HistoryBound,
  name: string,
  op: "lt" | "gt",
): Promise<Prisma.MessageWhereInput> {
  if ("at" in b) return { createdAt: { [op]: b.at } };
  const found = await prisma.message.findFirst({ where: { id: b.messageId, conversationId }, select: { seq: true } });
  if (!found) throw invalid(`${name} names no message of this conversation`, [{ field: name, message: "Unknown message id" }]);
  return { seq: { [op]: found.seq } };
}

/** Messages in the order they were accepted, from `offset`. */
export function messagesFrom(prisma: Db, conversationId: string, limit: number, offset: number): Promise<Message[]> {
  return prisma.message.findMany({ where: { conversationId }, orderBy: { seq: "asc" }, skip: offset, take: limit });
}

export interface ConversationWithLast {
  id: string;
  externalId: string;
  status: string;
  assistantId: string | null;
  assistantName: string | null;
  lastMessage: string | null;
  lastActivityAt: Date;
}

/** The org's conversations by latest activity, each with its assistant's name and its last message. */
export async function listWithLastMessage(
  prisma: Db,
  q: { orgId: string; status?: string; assistantId?: string; limit: number; offset: number },
): Promise<{ rows: ConversationWithLast[]; total: number }> {
  const filters = [
    Prisma.sql`c.org_id = ${q.orgId}::uuid`,
    ...(q.status ? [Prisma.sql`c.status = ${q.status}`] : []),
    ...(q.assistantId ? [Prisma.sql`c.assistant_id = ${q.assistantId}::uuid`] : []),
  ];
  const [rows, total] = await Promise.all([
    prisma.$queryRaw<ConversationWithLast[]>`
      SELECT c.id, c.external_id AS "externalId", c.status, c.assistant_id AS "assistantId", a.name AS "assistantName",
             last.content AS "lastMessage", c.last_activity_at AS "lastActivityAt"
      FROM conversations c
      LEFT JOIN assistants a ON a.id = c.assistant_id
      LEFT JOIN LATERAL (
        SELECT m.content FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1
      ) last ON true
      WHERE ${Prisma.join(filters, " AND ")}
      ORDER BY c.last_activity_at DESC, c.id DESC
      LIMIT ${q.limit} OFFSET ${q.offset}`,
    prisma.conversation.count({ where: { orgId: q.orgId, status: q.status, assistantId: q.assistantId } }),
  ]);
  return { rows, total };
}

export interface ConversationSummary {
  number: number;
  channel: string;
  externalId: string;
  createdAt: Date;
  count: number;
  firstUserMessage: string | null;
  firstBotMessage: string | null;
  /** The first assistant message's metadata: who wrote it, if an operator did (see authorField). */
  firstBotMetadata: unknown;
}

/** The org's conversations, newest first, with their message count and their first user and assistant messages. */
export async function listSummaries(
  prisma: Db,
  q: { orgId: string; limit: number; offset: number },
): Promise<{ rows: ConversationSummary[]; total: number }> {
  const [rows, total] = await Promise.all([
    prisma.$queryRaw<ConversationSummary[]>`
      SELECT c.number,
        -- An API caller's own label (the AI Hub document's metadata.channel, e.g. "whatsapp") describes where its
        -- user is; the hub's channel is still "api", and that is what decides where replies go.
        CASE WHEN c.channel = 'api' THEN COALESCE(c.metadata->>'channel', c.channel) ELSE c.channel END AS channel,
        c.external_id AS "externalId", c.created_at AS "createdAt",
        (SELECT count(*)::int FROM messages m WHERE m.conversation_id = c.id) AS count,
        (SELECT m.content FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user' ORDER BY m.seq LIMIT 1) AS "firstUserMessage",
        bot.content AS "firstBotMessage", bot.metadata AS "firstBotMetadata"
      FROM conversations c
      LEFT JOIN LATERAL (
        SELECT m.content, m.metadata FROM messages m WHERE m.conversation_id = c.id AND m.role = 'assistant' ORDER BY m.seq LIMIT 1
      ) bot ON true
      WHERE c.org_id = ${q.orgId}::uuid
      ORDER BY c.number DESC
      LIMIT ${q.limit} OFFSET ${q.offset}`,
    prisma.conversation.count({ where: { orgId: q.orgId } }),
  ]);
  return { rows, total };
}
