import type { Message } from "../../src/generated/prisma/client";
import type { TestHub } from "./hub";

// Conversations written straight to the database at chosen times, for insights whose numbers are known.

export const at = (iso: string | number, plusMs = 0) => new Date((typeof iso === "number" ? iso : Date.parse(iso)) + plusMs);
const CITED = [{ documentId: "d1", title: "Warranty", heading: null, page: null, url: null }];

export interface SeededTurn {
  q: string;
  at: string | number;
  /** When the reply came, after the question. */
  replyMs: number;
  /** The reply drew on a passage of the knowledge. */
  cited?: boolean;
  error?: string;
}

/** A conversation of `orgId` on `channel` with a session and the given turns, each answered. */
export async function seedConversation(
  hub: TestHub,
  orgId: string,
  key: string,
  channel: string,
  turns: SeededTurn[],
  extra: { lastHandoffAt?: Date } = {},
) {
  const prisma = hub.runtime.db.prisma;
  const conversation = await prisma.conversation.create({
    data: { orgId, externalId: key, channel, lastActivityAt: at(turns[turns.length - 1].at, 60_000), createdAt: at(turns[0].at), ...extra },
  });
  const session = await prisma.chatSession.create({ data: { conversationId: conversation.id } });
  const replies: Message[] = [];
  for (const t of turns) {
    const q = await prisma.message.create({
      data: { conversationId: conversation.id, role: "user", content: t.q, status: "answered", createdAt: at(t.at) },
    });
    const data = {
      conversationId: conversation.id,
      role: "assistant",
      content: `Answer to ${t.q}`,
      status: "sent",
      inReplyToId: q.id,
      citations: t.cited ? CITED : [],
      error: t.error ?? null,
      createdAt: at(t.at, t.replyMs),
    };
    replies.push(await prisma.message.create({ data }));
  }
  /** Stores the session's rating of its n-th reply, given at `when`. */
  const rate = (n: number, rating: "up" | "down", comment: string | null, when: string | number) =>
    prisma.feedback.create({
      data: {
        orgId,
        conversationId: conversation.id,
        sessionId: session.id,
        messageId: replies[n].id,
        rating,
        comment,
        createdAt: at(when),
        updatedAt: at(when),
      },
    });
  return { conversation, session, replies, rate };
}
