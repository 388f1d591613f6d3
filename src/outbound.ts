import { Batcher, roundsByKey } from "./batch";
import { type Db, isItemError, type Sql } from "./db/database";
import { type OutboundPart, Prisma } from "./generated/prisma/client";
import type { ReplyAddress } from "./types";

// Messages sent through an API channel (Twilio; see src/channels.ts) go out as parts, each recorded in
// outbound_parts before it is sent. The channel's sender and the deliver worker meet here, and so do the
// provider's status callbacks.
//
// Such a reply is stored UNSENT, and keeps that status until the provider took every part (then it takes
// the provider's status) or refused one for good (failed): Postgres, not the queue, says what is left to send.

/** The status of a reply of an API channel the provider has not taken yet, all of it. */
export const UNSENT = "unsent";

/** A reply held until the user writes again: its window had closed, a re-engagement template went instead (src/window.ts). */
export const AWAITING_WINDOW = "awaiting_window";

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

const PART_FIELDS = `id::text, message_id::text AS "messageId", position, body, provider_id AS "providerId", status, error,
  attempted_at AS "attemptedAt", created_at AS "createdAt"`;

/** What a delivery reads of the message it sends, with its conversation's channel and first unsent message. */
export interface DeliveryHead {
  id: string;
  conversationId: string;
  channel: string;
  status: string;
  content: string;
  /** Its metadata: a template it is sent as (src/channels.ts: templateOf). */
  metadata: Prisma.JsonValue;
  createdAt: Date;
  /** The conversation's earliest message still to send: only it may be sent now (replies go out in order). */
  firstUnsent: string | null;
  /** Where it goes: its own address, else that of the message it answers, else the conversation's latest. */
  replyAddress: ReplyAddress | null;
  /** When the user last wrote through the channel, which opens its window (src/window.ts: lastInboundAt). */
  lastInboundAt: Date | null;
}

// The delivery's reads in one statement (they were five; a delivery is a good part of a WhatsApp turn's cost),
// for any number of messages: the deliveries running at once share it (DeliveryStatements).
// The unsent status is written into the statement, not bound, so the planner uses the partial index on it.
const DELIVERY_HEADS = `
  SELECT m.id::text, m.conversation_id::text AS "conversationId", c.channel, m.status, m.content, m.metadata, m.created_at AS "createdAt",
    (SELECT f.id::text FROM messages f WHERE f.conversation_id = m.conversation_id AND f.status = 'unsent'
     ORDER BY f.seq LIMIT 1) AS "firstUnsent",
    CASE
      WHEN m.reply_address IS NOT NULL THEN m.reply_address
      WHEN COALESCE(m.in_reply_to_id, m.follow_up_of_id) IS NOT NULL
        THEN (SELECT a.reply_address FROM messages a WHERE a.id = COALESCE(m.in_reply_to_id, m.follow_up_of_id))
      ELSE (SELECT l.reply_address FROM messages l WHERE l.conversation_id = m.conversation_id AND l.reply_address IS NOT NULL
            ORDER BY l.seq DESC LIMIT 1)
    END AS "replyAddress",
    (SELECT w.created_at FROM messages w WHERE w.conversation_id = m.conversation_id AND w.role = 'user'
       AND w.reply_address IS NOT NULL ORDER BY w.seq DESC LIMIT 1) AS "lastInboundAt"
  FROM messages m JOIN conversations c ON c.id = m.conversation_id
  WHERE m.id = ANY($1::uuid[])`;

// The parts of many messages: those each adds, and those there before (its snapshot does not see what it adds).
// Added in (message, position) order, so two batches adding the same parts wait on each other in one order.
const PARTS_OF = `
  WITH input AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[]) AS i(message_id, position, body)),
  added AS (
    INSERT INTO outbound_parts (id, message_id, position, body)
    SELECT gen_random_uuid(), message_id, position, body FROM input ORDER BY message_id, position
    ON CONFLICT (message_id, position) DO NOTHING
    RETURNING ${PART_FIELDS})
  SELECT * FROM added
  UNION ALL SELECT ${PART_FIELDS} FROM outbound_parts WHERE message_id IN (SELECT message_id FROM input)
  ORDER BY position`;

// Longer than a send can take (the Twilio client gives up after 15 s): a claim older than this was cut off by a
// crash, and the part may be sent again (the one window workers/deliver.ts names).
const SEND_CLAIM_MS = 60_000;

const CLAIM_PARTS = `
  UPDATE outbound_parts SET attempted_at = now()
  WHERE id = ANY($1::uuid[]) AND provider_id IS NULL
    AND (attempted_at IS NULL OR attempted_at < now() - ${SEND_CLAIM_MS} * interval '1 millisecond')
  RETURNING id::text`;

// The status is written into the statement, not bound, so the planner can use the partial index on it.
const FIRST_UNSENT = `
  SELECT DISTINCT ON (conversation_id) conversation_id::text AS "conversationId", id::text
  FROM messages WHERE conversation_id = ANY($1::uuid[]) AND status = 'unsent'
  ORDER BY conversation_id, seq`;

/**
 * A delivery's statements, each shared by the deliveries running at once and, for the records, by the
 * provider's status callbacks (src/batch.ts): under load one statement reads many replies, adds their parts,
 * claims them or records them; an idle hub runs each for one. Each item's answer is what it would have been
 * alone: a batch starts after its items were submitted, so it reads no older a state than they would have.
 */
export class DeliveryStatements {
  private readonly heads: Batcher<string, DeliveryHead | null>;
  private readonly parts: Batcher<{ messageId: string; bodies: string[] }, OutboundPart[]>;
  private readonly claims: Batcher<string, boolean>;
  private readonly firsts: Batcher<string, string | null>;
  private readonly records: Batcher<{ partId: string; update: PartUpdate }, boolean>;

  constructor(
    private readonly sql: Sql,
    prisma: Db,
  ) {
    this.heads = new Batcher(async (ids) => {
      const found = new Map((await sql<DeliveryHead>(DELIVERY_HEADS, [ids])).map((h) => [h.id, h]));
      return ids.map((id) => found.get(id) ?? null);
    }, isItemError);
    this.parts = new Batcher(async (items) => {
      // A reply asked for twice in one batch (two deliveries of it) adds its parts once.
      const once = [...new Map(items.map((i) => [i.messageId, i.bodies])).entries()];
      const rows = once.flatMap(([messageId, bodies]) => bodies.map((body, position) => ({ messageId, position, body })));
      const found = await sql<OutboundPart>(PARTS_OF, [rows.map((r) => r.messageId), rows.map((r) => r.position), rows.map((r) => r.body)]);
      return items.map((i) => found.filter((p) => p.messageId === i.messageId));
    }, isItemError);
    this.claims = new Batcher(async (ids) => {
      const claimed = new Set((await sql<{ id: string }>(CLAIM_PARTS, [ids])).map((r) => r.id));
      // A part asked for twice in one batch is one claim: only the first asker has it.
      return ids.map((id) => claimed.delete(id));
    }, isItemError);
    this.firsts = new Batcher(async (ids) => {
      const found = new Map((await sql<{ conversationId: string; id: string }>(FIRST_UNSENT, [ids])).map((r) => [r.conversationId, r.id]));
      return ids.map((id) => found.get(id) ?? null);
    }, isItemError);
    this.records = new Batcher((items) => recordParts({ prisma, sql }, items), isItemError);
  }

  /** What a delivery reads of its message, or null when there is no such message. */
  head(messageId: string): Promise<DeliveryHead | null> {
    return this.heads.submit(messageId);
  }

  /** The parts of a reply, created on first delivery; the same split on a retry finds them already there. */
  async partsOf(messageId: string, bodies: string[]): Promise<OutboundPart[]> {
    const parts = await this.parts.submit({ messageId, bodies });
    // Parts another delivery of the same reply added meanwhile are in neither: read them all again.
    if (parts.length >= bodies.length) return parts;
    return this.sql<OutboundPart>(`SELECT ${PART_FIELDS} FROM outbound_parts WHERE message_id = $1::uuid ORDER BY position`, [messageId]);
  }

  /** Marks the part's send as begun, unless a send of it began less than SEND_CLAIM_MS ago and is not over. */
  claim(partId: string): Promise<boolean> {
    return this.claims.submit(partId);
  }

  /** The conversation's earliest message still to send, which alone may be sent now (replies go out in order). */
  firstUnsent(conversationId: string): Promise<string | null> {
    return this.firsts.submit(conversationId);
  }

  /**
   * Records what became of a part (the send's answer, or a status callback naming it) and rolls it up onto its
   * message (recordPartStatus); false when there is no such part.
   */
  record(partId: string, update: PartUpdate): Promise<boolean> {
    return this.records.submit({ partId, update });
  }
}

/**
 * Records what became of one part (the send's answer or a status callback) and rolls the parts up onto the
 * reply's own status: the least advanced part, or the failure if one failed.
 */
export async function recordPartStatus(
  prisma: Db,
  where: { partId: string } | { providerId: string },
  update: PartUpdate,
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

// Parts of messages sent whole (one part, the common case), any number in one statement: each part moves
// forward as in recordPartStatus, and its message takes its status. A message of several parts matches nothing
// here: those roll up under the message's lock, in recordPartStatus. The messages' rows are locked first here
// too, in id order (sole reads locked before moved updates the parts), so two batches, or this and
// recordPartStatus, never wait on each other in opposite orders. A part's forward statuses come joined by commas.
const RECORD_SOLE_PARTS = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS i(part_id, status, forward, error, provider_id)),
  locked AS (
    SELECT m.id FROM messages m
    WHERE m.id IN (SELECT p.message_id FROM outbound_parts p JOIN input i ON i.part_id = p.id)
    ORDER BY m.id FOR UPDATE),
  sole AS (
    SELECT p.id, i.status, string_to_array(i.forward, ',') AS forward, i.error, i.provider_id
    FROM outbound_parts p JOIN locked l ON l.id = p.message_id JOIN input i ON i.part_id = p.id
    WHERE NOT EXISTS (SELECT 1 FROM outbound_parts o WHERE o.message_id = p.message_id AND o.id <> p.id)),
  moved AS (
    UPDATE outbound_parts p SET
      status = CASE WHEN p.status = ANY(sole.forward) THEN sole.status ELSE p.status END,
      error = CASE WHEN p.status = ANY(sole.forward) THEN sole.error ELSE p.error END,
      provider_id = COALESCE(p.provider_id, sole.provider_id)
    FROM sole WHERE p.id = sole.id
    RETURNING p.id, p.message_id, p.status, p.error, p.provider_id),
  rolled AS (
    UPDATE messages m SET
      status = moved.status,
      error = CASE WHEN moved.status = ANY($6::text[]) AND moved.error IS NOT NULL AND strpos(COALESCE(m.error, ''), moved.error) = 0
        THEN COALESCE(m.error || '; ', '') || moved.error ELSE m.error END,
      provider_id = moved.provider_id
    FROM moved WHERE m.id = moved.message_id AND moved.status <> 'pending')
  SELECT id::text FROM moved`;

export interface PartUpdate {
  status: string;
  providerId?: string;
  error?: string;
}

/**
 * recordPartStatus for parts given by id, many in one statement when their messages have no other part. A
 * part named twice goes in a second statement after the first (one statement updates a row once).
 */
async function recordParts(db: { prisma: Db; sql: Sql }, items: { partId: string; update: PartUpdate }[]): Promise<boolean[]> {
  const out: boolean[] = new Array(items.length);
  for (const round of roundsByKey(items, ({ partId }) => partId)) {
    const batch = round.map(({ index, item }) => ({ index, ...item }));
    const rows = await db.sql<{ id: string }>(RECORD_SOLE_PARTS, [
      batch.map((b) => b.partId),
      batch.map((b) => b.update.status),
      batch.map((b) => below(b.update.status).join(",")),
      batch.map((b) => b.update.error ?? null),
      batch.map((b) => b.update.providerId ?? null),
      [...FINAL_FAILURES],
    ]);
    const moved = new Set(rows.map((r) => r.id));
    for (const b of batch) out[b.index] = moved.has(b.partId) || (await recordPartStatus(db.prisma, { partId: b.partId }, b.update));
  }
  return out;
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
