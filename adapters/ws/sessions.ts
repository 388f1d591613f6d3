import { randomUUID } from "node:crypto";
import { isUuid } from "../../src/assistants/store";
import { upsertConversation } from "../../src/conversations";
import type { Db } from "../../src/db/database";
import { HubError, notFound } from "../../src/errors";
import type { Message } from "../../src/generated/prisma/client";
import { addSession, firstSession } from "../../src/sessions";

// A widget session is a chat_sessions row over one conversation of the `ws` channel.
//   anonymous: a new conversation per session (`ws:anon:<session id>`), ending after WS_ANONYMOUS_TTL_MS
//              without activity; the purge then deletes the conversation and so its history.
//   a user:    one persistent conversation per user and org (`ws:user:<user id>`): every device of the user
//              joins it, which is what keeps them in sync; each message may address another assistant.

export const CHANNEL = "ws";

export interface Visitor {
  orgId: string;
  /** null for an anonymous visitor. */
  userId: string | null;
  /** The org's own server, with an API key, speaking for its user; else a member of the public. */
  integrator?: boolean;
}

export interface Session {
  id: string;
  conversationId: string;
  /** The conversation's external id, which accept() upserts by. */
  conversationKey: string;
  visitor: Visitor;
  /** A session the client asked for by id (false: created or found for this connection). */
  resumed: boolean;
}

/**
 * The session a connection joins: the one asked for by id when the visitor may, else the user's own or a
 * new anonymous one. An expired or unknown anonymous session gives way to a new one (its history is gone
 * by design); a user asking for a session that is not theirs gets forbidden, an unknown one not_found.
 */
export async function openSession(prisma: Db, visitor: Visitor, askedId: string | null, ttlMs: number): Promise<Session> {
  if (askedId) {
    const found = isUuid(askedId) ? await prisma.chatSession.findUnique({ where: { id: askedId }, include: { conversation: true } }) : null;
    const usable = found && found.conversation.orgId === visitor.orgId && found.conversation.channel === CHANNEL;
    const expired = usable && found.userId === null && (found.expiresAt?.getTime() ?? 0) <= Date.now();
    if (usable && !expired) {
      if (found.userId !== visitor.userId) throw new HubError(403, "forbidden", "No access to this session");
      if (!visitor.userId) await touch(prisma, found.id, ttlMs);
      return { id: found.id, conversationId: found.conversationId, conversationKey: found.conversation.externalId, visitor, resumed: true };
    }
    if (visitor.userId) throw notFound("Session");
  }
  return visitor.userId ? userSession(prisma, visitor, visitor.userId) : anonymousSession(prisma, visitor, ttlMs);
}

async function anonymousSession(prisma: Db, visitor: Visitor, ttlMs: number): Promise<Session> {
  const id = randomUUID();
  const conversationKey = `ws:anon:${id}`;
  const conversation = await upsertConversation(prisma, { orgId: visitor.orgId, conversationKey, channel: CHANNEL }, null);
  await addSession(prisma, conversation.id, { id, expiresAt: new Date(Date.now() + ttlMs) });
  return { id, conversationId: conversation.id, conversationKey, visitor, resumed: false };
}

async function userSession(prisma: Db, visitor: Visitor, userId: string): Promise<Session> {
  const conversationKey = `ws:user:${userId}`;
  const conversation = await upsertConversation(prisma, { orgId: visitor.orgId, conversationKey, channel: CHANNEL, userId }, null);
  // Every device of the user joins the same session.
  const session = await firstSession(prisma, conversation.id, { userId });
  return { id: session.id, conversationId: conversation.id, conversationKey, visitor, resumed: false };
}

/** Pushes an anonymous session's end further: the visitor did something. */
export async function touch(prisma: Db, sessionId: string, ttlMs: number): Promise<void> {
  await prisma.chatSession.updateMany({ where: { id: sessionId, userId: null }, data: { expiresAt: new Date(Date.now() + ttlMs) } });
}

/** Deletes anonymous sessions past their end, with their conversations and messages. Safe on every gateway at once. */
export async function purgeExpired(prisma: Db): Promise<number> {
  return prisma.$executeRaw`
    DELETE FROM conversations c USING chat_sessions s
    WHERE s.conversation_id = c.id AND s.user_id IS NULL AND c.channel = ${CHANNEL} AND s.expires_at < now()`;
}

export const RECENT_ON_CONNECT = 50;

/**
 * What a connecting client has not seen: every message after `lastMessageId` when it names one of the
 * conversation's messages, else the most recent ones. `floorSeq`: messages at or below it the client has
 * (or was deliberately not sent), so later events about them must not show them again.
 */
export async function missedMessages(prisma: Db, conversationId: string, lastMessageId: string | null) {
  const cursor =
    lastMessageId && isUuid(lastMessageId)
      ? await prisma.message.findFirst({ where: { id: lastMessageId, conversationId }, select: { seq: true } })
      : null;
  const shown = { conversationId, role: { in: ["user", "assistant"] } };
  let messages: Message[];
  if (cursor) {
    messages = await prisma.message.findMany({ where: { ...shown, seq: { gt: cursor.seq } }, orderBy: { seq: "asc" } });
  } else {
    messages = (await prisma.message.findMany({ where: shown, orderBy: { seq: "desc" }, take: RECENT_ON_CONNECT })).reverse();
  }
  const floorSeq = cursor ? cursor.seq : messages.length ? messages[0].seq - 1n : await lastSeq(prisma, conversationId);
  return { messages, floorSeq };
}

async function lastSeq(prisma: Db, conversationId: string): Promise<bigint> {
  const last = await prisma.message.findFirst({ where: { conversationId }, orderBy: { seq: "desc" }, select: { seq: true } });
  return last?.seq ?? 0n;
}
