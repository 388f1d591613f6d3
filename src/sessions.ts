import type { Db } from "./db/database";
import type { ChatSession, Conversation } from "./generated/prisma/client";

// Conversations and chat sessions a channel opens before any message: the REST APIs' "start" and "create"
// calls, and the widget's sessions. (A message's own conversation is opened by accept(), src/hub.ts.)

export interface NewConversation {
  orgId: string;
  /** The id its channel knows it by: a retried open with the same key finds the conversation it made. */
  key: string;
  channel: string;
  /** Its own id, when the channel names it by that too. */
  id?: string;
  assistantId?: string | null;
  userId?: string | null;
  title?: string | null;
  archived?: boolean;
}

/** The org's conversation under `key` on its channel: created once, found again by a retry. */
export function openConversation(prisma: Db, c: NewConversation): Promise<Conversation> {
  return prisma.conversation.upsert({
    where: { orgId_externalId: { orgId: c.orgId, externalId: c.key } },
    create: {
      id: c.id,
      orgId: c.orgId,
      externalId: c.key,
      channel: c.channel,
      assistantId: c.assistantId ?? null,
      userId: c.userId ?? null,
      title: c.title ?? null,
      status: c.archived ? "archived" : "active",
      archivedAt: c.archived ? new Date() : null,
    },
    update: {},
  });
}

export interface NewSession {
  id?: string;
  assistantId?: string | null;
  modelId?: string | null;
  userId?: string | null;
  /** An anonymous visitor's session ends, with its conversation, after a while without activity. */
  expiresAt?: Date;
}

/** A new chat session over the conversation. */
export function addSession(prisma: Db, conversationId: string, s: NewSession = {}): Promise<ChatSession> {
  return prisma.chatSession.create({ data: { ...s, conversationId } });
}

/**
 * The conversation's first session, opened if it has none. Two callers opening it at once may both create
 * one: both then use the oldest, so every device of a user, every retry of a start, lands in the same one.
 */
export async function firstSession(prisma: Db, conversationId: string, s: NewSession = {}): Promise<ChatSession> {
  const oldest = () => prisma.chatSession.findFirst({ where: { conversationId }, orderBy: { createdAt: "asc" } });
  return (await oldest()) ?? (await addSession(prisma, conversationId, s).then(async (made) => (await oldest()) ?? made));
}
