import { roundsByKey } from "./batch";
import type { Database, Db } from "./db/database";
import type { Message } from "./generated/prisma/client";
import { Prisma } from "./generated/prisma/client";
import type { HandoffState } from "./handoff";
import { AWAITING_WINDOW, UNSENT } from "./outbound";
import type { Citation, InboundMessage, MessageAuthor, ReplyAddress, StoredMessage, WireMessage } from "./types";

export interface TurnOptions {
  assistant: InboundMessage["assistant"];
  folderIds?: string[];
  fromPublic?: boolean;
  stream?: boolean;
}

/** A user message written while a person had the conversation (src/handoff.ts): shown, never answered by the assistant. */
export const HELD = "held";

// A messages row under the Prisma model's field names, for raw statements that return messages.
const MESSAGE_COLUMNS = `id::text, seq, conversation_id::text AS "conversationId", session_id::text AS "sessionId",
  external_id AS "externalId", role, content, attachments, metadata, status, in_reply_to_id::text AS "inReplyToId", error,
  tokens_used AS "tokensUsed", processing_ms AS "processingMs", sources, citations, provider_id AS "providerId",
  turn_options AS "turnOptions", reply_address AS "replyAddress", follow_up_of_id::text AS "followUpOfId",
  created_at AS "createdAt"`;
export const MESSAGE_FIELDS = Prisma.raw(MESSAGE_COLUMNS);

/** A messages row read straight from the driver (Database.sql): `pg` returns a bigint as a string. */
const asMessage = (row: Record<string, unknown>) => ({ ...row, seq: BigInt(row.seq as string | bigint) }) as unknown as Message;

type ConversationInput = Pick<InboundMessage, "orgId" | "conversationKey" | "channel" | "userId" | "metadata">;

// What a message does to a conversation that exists already: merges its metadata, sets its assistant if it
// names one, and marks it active. One definition for the single upsert and the batched one (INSERT_INBOUND).
const CONVERSATION_MERGE = `
  ON CONFLICT (org_id, external_id) DO UPDATE SET
    metadata = conversations.metadata || EXCLUDED.metadata,
    assistant_id = COALESCE(EXCLUDED.assistant_id, conversations.assistant_id),
    last_activity_at = now(), updated_at = now()`;

/** The statement that creates the conversation on first use, or merges new metadata into it. */
const conversationUpsert = (m: ConversationInput, assistantId: string | null) => Prisma.sql`
  INSERT INTO conversations (id, org_id, external_id, channel, assistant_id, user_id, metadata, updated_at)
  VALUES (gen_random_uuid(), ${m.orgId}::uuid, ${m.conversationKey}, ${m.channel}, ${assistantId}::uuid,
          ${m.userId ?? null}, ${JSON.stringify(m.metadata ?? {})}::jsonb, now())
  ${Prisma.raw(CONVERSATION_MERGE)}
  RETURNING id`;

/** Creates the conversation on first use, or merges new metadata into it; one statement either way. */
export async function upsertConversation(prisma: Db, m: ConversationInput, assistantId: string | null): Promise<{ id: string }> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`${conversationUpsert(m, assistantId)}`;
  return rows[0];
}

/** An inbound message on its way into the database, with what accept() resolved for it. */
export interface PendingInbound {
  /** The id it is stored under, chosen once by accept(): storing it again finds it stored (see insertInbound). */
  id: string;
  m: InboundMessage;
  assistantId: string | null;
  options: TurnOptions | null;
}

export interface Inserted {
  conversationId: string;
  message: Message;
  /** The same channel message id was stored before: `message` is that one. */
  duplicate: boolean;
  /** Replies held for the user's window (src/window.ts) this message reopened, now unsent, in their order. */
  released: string[];
}

// Many inbound messages in one statement: each creates or touches its conversation (merging its metadata) and
// is stored once per (conversation, channel message id); a user message is stored HELD, not pending, while a
// person has its conversation (src/handoff.ts). A user's message through a channel with a window (it has a
// reply address: a signed webhook's) reopens it: the replies held for it are made unsent again, in the same
// commit (src/window.ts; Inserted.released). Columns come as arrays, one element per message, so
// the statement's text, and its plan, are the same for any number of messages. Conversations are upserted in
// key order: two gateways' batches lock the rows they share in the same order.
const INSERT_INBOUND = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::uuid[],
                         $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
      WITH ORDINALITY AS i(id, org_id, conversation_key, channel, assistant_id, user_id, metadata, session_id,
                           external_id, role, content, attachments, status, turn_options, reply_address, n)
  ), conversation AS (
    INSERT INTO conversations (id, org_id, external_id, channel, assistant_id, user_id, metadata, updated_at)
    SELECT gen_random_uuid(), org_id, conversation_key, channel, assistant_id, user_id, metadata::jsonb, now()
    FROM input ORDER BY org_id, conversation_key
    ${CONVERSATION_MERGE}
    RETURNING id, org_id, external_id, handoff_state
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, session_id, external_id, role, content, attachments, metadata, status,
                          turn_options, reply_address)
    SELECT i.id, c.id, i.session_id, i.external_id, i.role, i.content, i.attachments::jsonb, i.metadata::jsonb,
           CASE WHEN i.status = 'pending' AND c.handoff_state <> 'bot' THEN '${HELD}' ELSE i.status END,
           i.turn_options::jsonb, i.reply_address::jsonb
    FROM input i JOIN conversation c ON c.org_id = i.org_id AND c.external_id = i.conversation_key
    ORDER BY i.n
    ON CONFLICT DO NOTHING
    RETURNING *
  ), released AS (
    UPDATE messages h SET status = '${UNSENT}', error = NULL
    FROM inserted i
    WHERE h.conversation_id = i.conversation_id AND h.status = '${AWAITING_WINDOW}'
      AND i.role = 'user' AND i.reply_address IS NOT NULL
    RETURNING h.id, h.conversation_id, h.seq
  )
  SELECT ${MESSAGE_COLUMNS},
    ARRAY(SELECT r.id::text FROM released r WHERE r.conversation_id = inserted.conversation_id ORDER BY r.seq) AS released
  FROM inserted`;

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

/**
 * Stores inbound messages, each once per (conversation, channel message id), creating or touching their
 * conversations in the same statement: one statement and one commit for the lot (see Batcher). A
 * conversation that has several messages in the batch gets one statement per message, in order: one
 * statement may not upsert a row twice. Returns, in order, each stored row and whether it existed already
 * (a retried webhook or request). Safe to run again for messages it stored already (a batch that failed after
 * its first statement, run again item by item): a message's id is chosen before, so it is found, not stored
 * a second time.
 */
export async function insertInbound(db: Database, items: PendingInbound[]): Promise<Inserted[]> {
  const out: Inserted[] = new Array(items.length);
  // Rounds: the first message of each conversation, then the second of each, ...
  for (const round of roundsByKey(items, ({ m }) => `${m.orgId}/${m.conversationKey}`)) {
    const batch = round.map(({ index, item }) => ({ index, ...item }));
    const column = <T>(f: (b: (typeof batch)[number]) => T) => batch.map(f);
    const rows = await db.sql(INSERT_INBOUND, [
      column((b) => b.id),
      column((b) => b.m.orgId),
      column((b) => b.m.conversationKey),
      column((b) => b.m.channel),
      column((b) => b.assistantId),
      column((b) => b.m.userId ?? null),
      column((b) => JSON.stringify(b.m.metadata ?? {})),
      column((b) => b.m.sessionId ?? null),
      column((b) => b.m.externalId ?? null),
      column((b) => b.m.role),
      column((b) => b.m.content),
      column((b) => JSON.stringify(b.m.attachments ?? [])),
      column((b) => (b.m.role === "user" ? "pending" : "context")),
      column((b) => json(b.options)),
      column((b) => json(b.m.replyAddress)),
    ]);
    const stored = new Map(rows.map(({ released, ...row }) => [row.id as string, asMessage(row)]));
    const releasedBy = new Map(rows.map((row) => [row.id as string, row.released as string[]]));
    const missing = batch.filter((b) => !stored.has(b.id)).map((b) => b.id);
    // Stored by an earlier run of this same batch: ours, not a duplicate.
    if (missing.length) {
      for (const row of await db.sql(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ANY($1::uuid[])`, [missing])) {
        stored.set(row.id as string, asMessage(row));
      }
    }
    for (const b of batch) {
      const message = stored.get(b.id);
      // Else only a message with a channel id can conflict: the one stored the first time is the answer.
      out[b.index] = message
        ? { conversationId: message.conversationId, message, duplicate: false, released: releasedBy.get(b.id) ?? [] }
        : await storedBefore(db.prisma, b.m);
    }
  }
  return out;
}

async function storedBefore(prisma: Db, m: InboundMessage): Promise<Inserted> {
  if (m.externalId === undefined) throw new Error("a message without a channel id was not stored");
  const existing = await prisma.message.findFirstOrThrow({
    where: { externalId: m.externalId, conversation: { orgId: m.orgId, externalId: m.conversationKey } },
  });
  return { conversationId: existing.conversationId, message: existing, duplicate: true, released: [] };
}

export const replyTo = (prisma: Db, messageId: string) => prisma.message.findUnique({ where: { inReplyToId: messageId } });

export type DueMessage = Message & { orgId: string };

/** What a turn job reads before it asks the assistant (see turnWindows). */
export interface TurnWindow {
  /** The conversation's unanswered user messages up to the job's, oldest first, with the conversation's org. */
  due: DueMessage[];
  /** What the first of them follows, oldest first, at most `historyMessages`. */
  history: HistoryMessage[];
  /** Who answers the conversation (src/handoff.ts): the assistant only in bot. */
  handoffState: HandoffState;
  /** When the conversation's newest unanswered user message came, if it is after the job's. */
  laterAt: Date | null;
}

export type HistoryMessage = { role: StoredMessage["role"]; content: string };

// For many jobs in one statement: each conversation's unanswered user messages up to the job's seq (from the
// small partial index of pending turns; the status and role are written into the statement so the planner
// can use it), the history before the first of them, and the conversation's handoff state.
const TURN_WINDOWS = `
  SELECT i.n, c.org_id::text AS "orgId", c.handoff_state AS "handoffState",
    CASE WHEN newest.seq > i.seq THEN newest.created_at END AS "laterAt", m.*
  FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS i(conversation_id, seq, n)
  JOIN conversations c ON c.id = i.conversation_id
  CROSS JOIN LATERAL (
    SELECT min(seq) AS first FROM messages
    WHERE conversation_id = i.conversation_id AND status = 'pending' AND role = 'user' AND seq <= i.seq
  ) due
  LEFT JOIN LATERAL (
    SELECT seq, created_at FROM messages
    WHERE conversation_id = i.conversation_id AND status = 'pending' AND role = 'user'
    ORDER BY seq DESC LIMIT 1
  ) newest ON true
  CROSS JOIN LATERAL (
    (SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE conversation_id = i.conversation_id AND status = 'pending' AND role = 'user' AND seq BETWEEN due.first AND i.seq)
    UNION ALL
    (SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE conversation_id = i.conversation_id AND seq < due.first
     ORDER BY seq DESC LIMIT $3)
  ) m
  ORDER BY i.n, m.seq`;

/**
 * Reads, for many turn jobs in one statement, the messages each answers (its conversation's unanswered user
 * messages up to the job's, oldest first) and the history the first of them follows.
 */
export async function turnWindows(
  db: Database,
  jobs: { conversationId: string; seq: bigint }[],
  historyMessages: number,
): Promise<TurnWindow[]> {
  const rows = await db.sql<Record<string, unknown> & { n: string | number }>(TURN_WINDOWS, [
    jobs.map((j) => j.conversationId),
    jobs.map((j) => j.seq.toString()),
    historyMessages,
  ]);
  const windows = jobs.map(() => [] as DueMessage[]);
  const states = jobs.map(() => ({ handoffState: "bot" as HandoffState, laterAt: null as Date | null }));
  for (const { n, handoffState, laterAt, ...row } of rows) {
    windows[Number(n) - 1].push(asMessage(row) as DueMessage);
    states[Number(n) - 1] = { handoffState: handoffState as HandoffState, laterAt: laterAt ? new Date(laterAt as string | Date) : null };
  }
  return windows.map((messages, i) => {
    // History rows all come before the first unanswered message, which no history row is.
    const first = messages.findIndex(isDue);
    if (first < 0) return { due: [], history: [], ...states[i] };
    const history = messages.slice(0, first).map(({ role, content }) => ({ role: role as StoredMessage["role"], content }));
    return { due: messages.slice(first), history, ...states[i] };
  });
}

const isDue = (m: Message) => m.status === "pending" && m.role === "user";

/** The conversation's messages before `seq`, oldest first: what a turn sees. */
export async function historyBefore(db: Database, conversationId: string, seq: bigint, limit: number): Promise<HistoryMessage[]> {
  const rows = await db.sql<HistoryMessage>(
    "SELECT role, content FROM messages WHERE conversation_id = $1::uuid AND seq < $2 ORDER BY seq DESC LIMIT $3",
    [conversationId, seq.toString(), limit],
  );
  return rows.reverse();
}

export interface ReplyInput {
  content: string;
  tokensUsed: number;
  sources: string[];
  /** Where the knowledge it drew on sits, to follow (messages.citations). */
  citations?: Citation[];
  /** Set when the turn failed and this is the fallback the user sees. */
  error?: string;
  /** With error: the assistant could not be reached, and the turn is left RETRYING for a follow-up. */
  followUp?: boolean;
}

/** A turn answered with the fallback because the assistant could not be reached; its follow-up may come. */
export const RETRYING = "retrying";

/** A stored reply, and whether this call stored it; message null: none, the turn was held (see storeReplies). */
export type StoredReply = { message: Message; created: boolean } | { message: null; created: false };

/** A reply on its way into the database (see storeReplies). */
export interface PendingReply {
  turn: Message;
  reply: ReplyInput;
}

// Many turns' replies in one statement. A turn that has a reply already (a retried or recovered job) gets
// no second one (in_reply_to_id is unique), and only turns whose reply went in are closed. A turn whose
// conversation a person has by now (src/handoff.ts) gets no reply: it is held. The conversations still in bot
// are locked until the commit: a takeover committed after this statement began is seen (a locked row is read
// again at its latest version), and one that comes later waits for these replies, so no reply is stored after
// an operator was told the conversation is theirs. The lock is the one `touched` takes anyway (FOR NO KEY
// UPDATE, not a share lock two batches would each hold and then both wait to upgrade).
// A reply answers its turn and the user messages before it still unanswered: those of a burst (several
// messages answered together, in one turn: workers/ask.ts). Turns are answered in order, so otherwise there are none.
const EARLIER_PENDING = `(turn.conversation_id = t.conversation_id AND turn.status = 'pending' AND turn.role = 'user' AND turn.seq < t.seq)`;

const INSERT_REPLIES = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[],
                         $9::text[], $10::text[], $11::text[])
      WITH ORDINALITY AS i(turn_id, conversation_id, session_id, content, status, turn_status, tokens_used,
                           processing_ms, sources, error, citations, n)
  ), answering AS (
    SELECT id FROM conversations WHERE id IN (SELECT conversation_id FROM input) AND handoff_state = 'bot'
    ORDER BY id FOR NO KEY UPDATE
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, session_id, role, content, status, in_reply_to_id, tokens_used,
                          processing_ms, sources, error, citations)
    SELECT gen_random_uuid(), i.conversation_id, i.session_id, 'assistant', i.content, i.status, i.turn_id, i.tokens_used,
           i.processing_ms, ARRAY(SELECT jsonb_array_elements_text(i.sources::jsonb)), i.error, i.citations::jsonb
    FROM input i JOIN answering c ON c.id = i.conversation_id
    ORDER BY i.n
    ON CONFLICT (in_reply_to_id) DO NOTHING
    RETURNING *
  ), closed AS (
    UPDATE messages turn SET status = i.turn_status, error = i.error
    FROM input i JOIN inserted r ON r.in_reply_to_id = i.turn_id
    WHERE turn.id = i.turn_id
  ), closed_before AS (
    -- A fallback's follow-up (status retrying) is the last message's: it answers the burst, with the earlier
    -- messages in its history.
    UPDATE messages turn SET status = CASE WHEN i.turn_status = '${RETRYING}' THEN 'answered' ELSE i.turn_status END, error = i.error
    FROM input i JOIN inserted r ON r.in_reply_to_id = i.turn_id JOIN messages t ON t.id = i.turn_id
    WHERE ${EARLIER_PENDING}
  ), held AS (
    UPDATE messages turn SET status = '${HELD}'
    FROM input i
    WHERE turn.id = i.turn_id AND turn.status = 'pending' AND i.conversation_id NOT IN (SELECT id FROM answering)
  ), held_before AS (
    UPDATE messages turn SET status = '${HELD}'
    FROM input i JOIN messages t ON t.id = i.turn_id
    WHERE ${EARLIER_PENDING} AND i.conversation_id NOT IN (SELECT id FROM answering)
  ), touched AS (
    UPDATE conversations SET last_activity_at = now(), updated_at = now()
    WHERE id IN (SELECT conversation_id FROM inserted)
  )
  SELECT ${MESSAGE_COLUMNS} FROM inserted`;

/**
 * Stores the replies to turns, closes the turns and marks their conversations active: one statement, all or
 * nothing, and one commit for the lot (see Batcher). A turn answered already keeps its reply, which is
 * returned with created false: a turn is answered at most once. A reply to a turn that came with a reply
 * address of `deliveredVia` (a signed Twilio webhook) is stored UNSENT: the deliver worker sends it, and the
 * outbox finds it if its job is lost. A turn held instead (a person has its conversation) comes back with
 * message null.
 */
export async function storeReplies(db: Database, items: PendingReply[], deliveredVia: string[] = []): Promise<StoredReply[]> {
  // One reply a turn: should two runs of one turn meet in a batch, the first is stored, the second finds it.
  const firstOfTurn = new Map<string, PendingReply>();
  for (const p of items) if (!firstOfTurn.has(p.turn.id)) firstOfTurn.set(p.turn.id, p);
  const unique = [...firstOfTurn.values()];
  const column = <T>(f: (p: PendingReply) => T) => unique.map(f);
  const rows = await db.sql(INSERT_REPLIES, [
    column((p) => p.turn.id),
    column((p) => p.turn.conversationId),
    column((p) => p.turn.sessionId),
    column((p) => p.reply.content),
    column((p) => replyStatus(p.turn, deliveredVia)),
    column((p) => turnStatus(p.reply)),
    column((p) => p.reply.tokensUsed),
    column((p) => Date.now() - p.turn.createdAt.getTime()),
    column((p) => JSON.stringify(p.reply.sources)),
    column((p) => p.reply.error ?? null),
    column((p) => JSON.stringify(p.reply.citations ?? [])),
  ]);
  const created = new Map(rows.map((row) => [row.inReplyToId as string, asMessage(row)]));
  const missing = items.filter((p) => !created.has(p.turn.id)).map((p) => p.turn.id);
  const before = missing.length
    ? (await db.sql(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE in_reply_to_id = ANY($1::uuid[])`, [missing])).map(asMessage)
    : [];
  const stored = new Map(before.map((m) => [m.inReplyToId as string, m]));
  return items.map((p) => {
    const message = created.get(p.turn.id);
    if (message && firstOfTurn.get(p.turn.id) === p) return { message, created: true };
    if (message) return { message, created: false };
    // No reply, stored now or before: its conversation is not in bot, and the turn is held.
    return { message: stored.get(p.turn.id) ?? null, created: false };
  });
}

const turnStatus = (reply: ReplyInput) => (!reply.error ? "answered" : reply.followUp ? RETRYING : "failed");

/**
 * Stores the follow-up of a RETRYING turn and marks the turn answered, in one statement, only while it is
 * still retrying, the user has not written since in the conversation (the follow-up would answer a
 * question they moved on from) and no person has the conversation (locked until the commit, as for replies:
 * see INSERT_REPLIES). Returns null when it stored nothing.
 * The status guard, and the unique follow_up_of_id under it, make a second follow-up of a turn impossible.
 */
export async function storeFollowUp(prisma: Db, turn: Message, reply: ReplyInput, deliveredVia: string[] = []): Promise<Message | null> {
  const [message] = await prisma.$queryRaw<Message[]>`
    WITH answered AS (
      UPDATE messages SET status = 'answered', error = NULL
      WHERE id = ${turn.id}::uuid AND status = ${RETRYING} AND NOT ${userWroteSince(turn)}
        AND EXISTS (SELECT 1 FROM conversations WHERE id = ${turn.conversationId}::uuid AND handoff_state = 'bot' FOR NO KEY UPDATE)
      RETURNING id
    ), touched AS (
      UPDATE conversations SET last_activity_at = now(), updated_at = now()
      WHERE id = ${turn.conversationId}::uuid AND EXISTS (SELECT 1 FROM answered)
    )
    INSERT INTO messages (id, conversation_id, session_id, role, content, status, follow_up_of_id, tokens_used,
                          processing_ms, sources, citations)
    SELECT gen_random_uuid(), ${turn.conversationId}::uuid, ${turn.sessionId}::uuid, 'assistant', ${reply.content},
           ${replyStatus(turn, deliveredVia)}, answered.id, ${reply.tokensUsed},
           ${Date.now() - turn.createdAt.getTime()}, ${reply.sources}::text[], ${JSON.stringify(reply.citations ?? [])}::jsonb
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
export const replyStatus = (turn: Message, deliveredVia: string[]) => {
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
    citations: (m.citations ?? []) as unknown as Citation[],
    ...(suggestions?.length ? { suggestions } : {}),
    ...authorField(m),
  };
}

/**
 * `{ author }` for a business-side message an operator wrote (its metadata's `author`, see src/operators.ts),
 * else nothing: how every surface tells an operator's message from the assistant's.
 */
export function authorField(m: Pick<Message, "role" | "metadata">): { author?: MessageAuthor } {
  const author = (m.metadata as { author?: Partial<MessageAuthor> } | null)?.author;
  if (m.role !== "assistant" || author?.kind !== "operator" || typeof author.name !== "string") return {};
  return { author: { kind: "operator", name: author.name } };
}
