import type { Db } from "./db/database";
import { notFound } from "./errors";

// Thumbs up or down on an answer, given by the person the answer was for. The message must be a reply in the
// giver's own conversation: an id alone (guessed, or another visitor's) never reaches another conversation.

export const RATINGS = ["up", "down"] as const;
export type Rating = (typeof RATINGS)[number];
export const MAX_COMMENT_CHARS = 1000;

export interface FeedbackInput {
  orgId: string;
  conversationId: string;
  sessionId: string;
  messageId: string;
  rating: Rating;
  comment?: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Stores the session's feedback on the message, replacing what it gave before; not found unless it may. */
export async function recordFeedback(prisma: Db, input: FeedbackInput): Promise<{ rating: Rating; comment: string | null }> {
  const comment = input.comment?.trim() || null;
  // One statement: the message is checked (an answer of this conversation, in this org) as the row is written,
  // and two sockets of one session rating at once update one row.
  const rows = UUID.test(input.messageId)
    ? await prisma.$queryRaw<{ rating: Rating; comment: string | null }[]>`
        INSERT INTO feedback (id, org_id, conversation_id, message_id, session_id, rating, comment)
        SELECT gen_random_uuid(), c.org_id, m.conversation_id, m.id, ${input.sessionId}::uuid, ${input.rating}, ${comment}
          FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.id = ${input.messageId}::uuid AND m.role = 'assistant'
           AND m.conversation_id = ${input.conversationId}::uuid AND c.org_id = ${input.orgId}::uuid
        ON CONFLICT (message_id, session_id)
        DO UPDATE SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, updated_at = now()
        RETURNING rating, comment`
    : [];
  if (!rows[0]) throw notFound("Answer");
  return rows[0];
}
