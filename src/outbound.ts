import type { Db } from "./db/database";
import { type OutboundPart, Prisma } from "./generated/prisma/client";

// Messages sent through an API channel (Twilio; see src/channels.ts) go out as parts, each recorded in
// outbound_parts before it is sent. The channel's sender and the deliver worker meet here, and so do the
// provider's status callbacks.
//
// Such a reply is stored UNSENT, and keeps that status until the provider took every part (then it takes
// the provider's status) or refused one for good (failed): Postgres, not the queue, says what is left to send.

/** The status of a reply of an API channel the provider has not taken yet, all of it. */
export const UNSENT = "unsent";

/** A send that failed. Permanent: sending again cannot succeed (invalid number, closed window). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** How long the provider asked us to wait (Retry-After). */
    readonly retryAfterMs?: number,
    /** `outside_window`: the provider refused a free-form message after the user's window closed (src/window.ts). */
    readonly reason?: "outside_window",
  ) {
    super(message);
    this.name = "DeliveryError";
  }
}

// Statuses a part moves through; callbacks can arrive out of order, so a part only ever moves forward.
const RANK: Record<string, number> = {
  pending: 0,
  accepted: 1,
  scheduled: 1,
  queued: 1,
  sending: 2,
  sent: 3,
  delivered: 4,
  read: 5,
  undelivered: 6,
  failed: 6,
  canceled: 6,
};
const FINAL_FAILURES = new Set(["undelivered", "failed", "canceled"]);
const rank = (status: string) => RANK[status] ?? 1;
const below = (status: string) => Object.keys(RANK).filter((s) => rank(s) < rank(status));

const PART_FIELDS = Prisma.sql`id::text, message_id::text AS "messageId", position, body, provider_id AS "providerId", status, error,
  attempted_at AS "attemptedAt", created_at AS "createdAt"`;

/** The parts of a reply, created on first delivery; the same split on a retry finds them already there. */
export async function partsOf(prisma: Db, messageId: string, bodies: string[]): Promise<OutboundPart[]> {
  // One statement: the parts it adds, and those there before (its snapshot does not see what it adds).
  const parts = await prisma.$queryRaw<OutboundPart[]>`
    WITH added AS (
      INSERT INTO outbound_parts (id, message_id, position, body)
      SELECT gen_random_uuid(), ${messageId}::uuid, b.position - 1, b.body
      FROM unnest(${bodies}::text[]) WITH ORDINALITY AS b(body, position)
      ON CONFLICT (message_id, position) DO NOTHING
      RETURNING ${PART_FIELDS})
    SELECT * FROM added
    UNION ALL SELECT ${PART_FIELDS} FROM outbound_parts WHERE message_id = ${messageId}::uuid
    ORDER BY position`;
  // Parts another delivery of the same reply added meanwhile are in neither: read them all again.
  if (parts.length >= bodies.length) return parts;
  return prisma.outboundPart.findMany({ where: { messageId }, orderBy: { position: "asc" } });
}

/**
 * Records what became of one part (the send's answer or a status callback) and rolls the parts up onto the
 * reply's own status: the least advanced part, or the failure if one failed.
 */
export async function recordPartStatus(
  prisma: Db,
  where: { partId: string } | { providerId: string },
  update: { status: string; providerId?: string; error?: string },
): Promise<boolean> {
  const thePart = "partId" in where ? Prisma.sql`id = ${where.partId}::uuid` : Prisma.sql`provider_id = ${where.providerId}`;
  const forward = below(update.status);
  // Prisma's default 2 s to get a connection is short for a pool shared with the turns' batches under load.
  return prisma.$transaction(
    async (tx) => {
      // The reply's row first, locked: callbacks of two parts arriving together roll up one after the other,
      // the second reading the parts after the first committed (a statement begun before would not see it).
      const [reply] = await tx.$queryRaw<{ id: string; error: string | null }[]>`
      SELECT id::text, error FROM messages WHERE id = (SELECT message_id FROM outbound_parts WHERE ${thePart}) FOR UPDATE`;
      if (!reply) return false;
      // The part only moves forward (callbacks come out of order) and keeps the first provider id it got; read
      // back with its siblings, in order.
      const parts = await tx.$queryRaw<{ status: string; error: string | null; providerId: string | null }[]>`
      WITH moved AS (
        UPDATE outbound_parts SET
          status = CASE WHEN status = ANY(${forward}::text[]) THEN ${update.status} ELSE status END,
          error = CASE WHEN status = ANY(${forward}::text[]) THEN ${update.error ?? null} ELSE error END,
          provider_id = COALESCE(provider_id, ${update.providerId ?? null})
        WHERE ${thePart}
        RETURNING id, status, error, provider_id)
      SELECT COALESCE(m.status, p.status) AS status, CASE WHEN m.id IS NULL THEN p.error ELSE m.error END AS error,
             COALESCE(m.provider_id, p.provider_id) AS "providerId"
      FROM outbound_parts p LEFT JOIN moved m ON m.id = p.id
      WHERE p.message_id = ${reply.id}::uuid
      ORDER BY p.position`;
      const failed = parts.find((p) => FINAL_FAILURES.has(p.status));
      const least = parts.reduce((a, b) => (rank(b.status) < rank(a.status) ? b : a));
      const status = failed?.status ?? (rank(least.status) > 0 ? least.status : null);
      if (status) {
        const error = failed?.error && !reply.error?.includes(failed.error) ? joined(reply.error, failed.error) : reply.error;
        await tx.$executeRaw`
        UPDATE messages SET status = ${status}, error = ${error}, provider_id = ${parts[0].providerId} WHERE id = ${reply.id}::uuid`;
      }
      return true;
    },
    { maxWait: 10_000 },
  );
}

/** The conversation's earliest message still to send, which alone may be sent now (replies go out in order). */
export async function firstUnsent(prisma: Db, conversationId: string): Promise<string | null> {
  // The status is written into the statement, not bound, so the planner can use the partial index on it.
  const [first] = await prisma.$queryRaw<{ id: string }[]>`
    SELECT id::text FROM messages WHERE conversation_id = ${conversationId}::uuid AND status = 'unsent' ORDER BY seq LIMIT 1`;
  return first?.id ?? null;
}

/**
 * The earliest message still to send of each conversation after `afterConversation`, in conversation id
 * order: at most `limit`, read from the partial index of unsent messages (only a reply an API channel of
 * this hub sends is stored unsent).
 */
export function unsentHeads(
  prisma: Db,
  afterConversation: string,
  limit: number,
): Promise<{ id: string; conversationId: string; createdAt: Date }[]> {
  return prisma.$queryRaw`
    SELECT DISTINCT ON (conversation_id) id::text, conversation_id::text AS "conversationId", created_at AS "createdAt"
    FROM messages
    WHERE status = 'unsent' AND conversation_id > ${afterConversation}::uuid
    ORDER BY conversation_id, seq
    LIMIT ${limit}`;
}

/** A send that failed and may be tried again: the reason is kept on the part until a later attempt succeeds. */
export async function recordAttemptError(prisma: Db, partId: string, error: string): Promise<void> {
  // The send is over: its claim (attempted_at) goes, so the retry may send at once.
  await prisma.outboundPart.update({ where: { id: partId }, data: { error, attemptedAt: null } });
}

const joined = (a: string | null, b: string) => (a ? `${a}; ${b}` : b);
