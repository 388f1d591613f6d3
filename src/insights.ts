import type { Db } from "./db/database";
import { Prisma } from "./generated/prisma/client";

// What an org's conversations of a period add up to, for the console's Insights (issue #15). Every query starts
// from the org's conversations active since the period began (conversations_org_id_last_activity_at_idx: a
// message's conversation is active at least as late as the message), then reads only their messages of the
// period (messages_conversation_id_created_at_idx), so a big messages table of other orgs and older months is
// never scanned.

export interface Period {
  orgId: string;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

export interface Insights {
  turnsByDay: { day: string; channel: string; turns: number }[];
  turns: number;
  /** From a user's message to the reply, in milliseconds; null without replies. */
  responseMs: { p50: number | null; p95: number | null; replies: number };
  /** Conversations with a user message in the period, and those of them handed to a person in it. */
  handoff: { conversations: number; handedOff: number; rate: number | null };
  /** Questions whose answer drew on no passage of the knowledge, grouped by their normalized text. */
  unanswered: { question: string; count: number; lastAskedAt: string }[];
  feedback: { up: number; down: number; upRate: number | null };
}

export const UNANSWERED_SHOWN = 20;

/** The period's user messages (turns) of the org's conversations, `m`, with their conversation `c`. */
const turnsOf = (p: Period) => Prisma.sql`
  conversations c JOIN messages m ON m.conversation_id = c.id
  WHERE c.org_id = ${p.orgId}::uuid AND c.last_activity_at >= ${p.from}
    AND m.created_at >= ${p.from} AND m.created_at < ${p.to} AND m.role = 'user'`;

// Case, spacing and the closing punctuation do not make another question.
const NORMALIZED = Prisma.sql`regexp_replace(lower(regexp_replace(btrim(m.content), '\\s+', ' ', 'g')), '[[:space:][:punct:]]+$', '')`;

export async function insightsOf(prisma: Db, p: Period): Promise<Insights> {
  const [byDay, [response], [handoff], unanswered, [feedback]] = await Promise.all([
    prisma.$queryRaw<{ day: string; channel: string; turns: number }[]>`
      SELECT to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, c.channel, count(*)::int AS turns
      FROM ${turnsOf(p)} GROUP BY 1, 2 ORDER BY 1, 2`,
    prisma.$queryRaw<{ p50: number | null; p95: number | null; replies: number }[]>`
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
             count(ms)::int AS replies
      FROM (SELECT (SELECT extract(epoch FROM r.created_at - m.created_at)::float8 * 1000
                    FROM messages r WHERE r.in_reply_to_id = m.id AND r.error IS NULL) AS ms
            FROM ${turnsOf(p)}) AS t`,
    prisma.$queryRaw<{ conversations: number; handedOff: number }[]>`
      SELECT count(*)::int AS conversations,
             count(*) FILTER (WHERE last_handoff_at >= ${p.from} AND last_handoff_at < ${p.to})::int AS "handedOff"
      FROM conversations c
      WHERE c.org_id = ${p.orgId}::uuid AND c.last_activity_at >= ${p.from}
        AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user'
                    AND m.created_at >= ${p.from} AND m.created_at < ${p.to})`,
    prisma.$queryRaw<{ question: string; count: number; lastAskedAt: Date }[]>`
      SELECT min(m.content) AS question, count(*)::int AS count, max(m.created_at) AS "lastAskedAt"
      FROM ${turnsOf(p)}
        AND EXISTS (SELECT 1 FROM messages r WHERE r.in_reply_to_id = m.id AND r.error IS NULL AND r.citations = '[]'::jsonb)
      GROUP BY ${NORMALIZED} ORDER BY count(*) DESC, max(m.created_at) DESC LIMIT ${UNANSWERED_SHOWN}`,
    prisma.$queryRaw<{ up: number; down: number }[]>`
      SELECT count(*) FILTER (WHERE rating = 'up')::int AS up, count(*) FILTER (WHERE rating = 'down')::int AS down
      FROM feedback WHERE org_id = ${p.orgId}::uuid AND updated_at >= ${p.from} AND updated_at < ${p.to}`,
  ]);
  const ratio = (part: number, whole: number) => (whole ? part / whole : null);
  const round = (ms: number | null) => (ms === null ? null : Math.round(Number(ms)));
  return {
    turnsByDay: byDay,
    turns: byDay.reduce((sum, row) => sum + row.turns, 0),
    responseMs: { p50: round(response.p50), p95: round(response.p95), replies: response.replies },
    handoff: { ...handoff, rate: ratio(handoff.handedOff, handoff.conversations) },
    unanswered: unanswered.map((u) => ({ ...u, lastAskedAt: u.lastAskedAt.toISOString() })),
    feedback: { ...feedback, upRate: ratio(feedback.up, feedback.up + feedback.down) },
  };
}

export interface FeedbackRow {
  id: string;
  at: Date;
  channel: string;
  rating: string;
  comment: string | null;
  question: string | null;
  reply: string;
  conversationId: string;
}

/** The period's feedback, oldest first, a page at a time after `after` (the last row of the page before). */
export function feedbackPage(prisma: Db, p: Period, after: FeedbackRow | null, size: number): Promise<FeedbackRow[]> {
  const cursor = after ? Prisma.sql`AND (f.updated_at, f.id) > (${after.at}, ${after.id}::uuid)` : Prisma.empty;
  return prisma.$queryRaw<FeedbackRow[]>`
    SELECT f.id, f.updated_at AS at, c.channel, f.rating, f.comment, q.content AS question, r.content AS reply,
           c.id AS "conversationId"
    FROM feedback f JOIN messages r ON r.id = f.message_id JOIN conversations c ON c.id = f.conversation_id
      LEFT JOIN messages q ON q.id = r.in_reply_to_id
    WHERE f.org_id = ${p.orgId}::uuid AND f.updated_at >= ${p.from} AND f.updated_at < ${p.to} ${cursor}
    ORDER BY f.updated_at, f.id LIMIT ${size}`;
}
