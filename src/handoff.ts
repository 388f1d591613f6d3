import type { ChannelRegistry } from "./channels";
import { HELD, MESSAGE_FIELDS, replyStatus } from "./conversations";
import type { Db } from "./db/database";
import { type Conversation, type Message, Prisma } from "./generated/prisma/client";
import type { ReplyAddress } from "./types";

// Handoff to a person. A conversation is `bot` (the assistant answers), `waiting` (a person was asked for) or
// `human` (an operator took it). Every change of state is one conditional UPDATE, so two operators, or an
// operator and a turn, cannot both win. User messages that arrive outside `bot` are stored HELD: shown in
// every history, never answered by the assistant, not even after release (it answers again from the next one).

export type HandoffState = "bot" | "waiting" | "human";

/** A conversation's handoff side, as the operator APIs (inbox, console) show it. */
export function handoffView(c: Conversation) {
  return {
    id: c.id,
    externalId: c.externalId,
    channel: c.channel,
    state: c.handoffState as HandoffState,
    waitingSince: c.handoffSince?.toISOString() ?? null,
    assignee: c.handoffAssignee,
    reason: c.handoffReason,
    summary: c.handoffSummary,
  };
}
export const HANDOFF_STATES: HandoffState[] = ["bot", "waiting", "human"];

/** The hub-wide handoff settings (src/config.ts); an assistant may set its own message and miss limit. */
export interface HandoffSettings {
  message: string;
  afterMisses: number;
  timeoutMs: number;
  timeoutMessage: string;
  timeoutRelease: boolean;
}

// What a user writes to ask for a person, when the assistant sets no phrases of its own; compared normalized
// (see normalize), so case, accents and punctuation do not matter.
export const DEFAULT_HANDOFF_PHRASES = [
  // English
  "talk to a human",
  "speak to a human",
  "talk to a person",
  "speak to a person",
  "talk to someone",
  "speak to someone",
  "real person",
  "human agent",
  "talk to an agent",
  "speak to an agent",
  "customer service representative",
  // Portuguese
  "falar com um humano",
  "falar com uma pessoa",
  "falar com alguem",
  "falar com um atendente",
  "atendente humano",
  "pessoa real",
  // Spanish
  "hablar con un humano",
  "hablar con una persona",
  "hablar con alguien",
  "hablar con un agente",
  "agente humano",
  "persona real",
  // German
  "mit einem menschen sprechen",
  "mit einer person sprechen",
  "mit einem mitarbeiter sprechen",
  "echten menschen",
  "echte person",
  // French
  "parler a un humain",
  "parler a une personne",
  "parler a quelqu un",
  "parler a un conseiller",
  "parler a un agent",
  "vraie personne",
];

/** Lower case, accents off, anything but letters and digits a single space: "Falar com ALGUÉM!" -> "falar com alguem". */
export function normalize(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** Whether the text contains one of the phrases as whole words. */
export function asksForPerson(text: string, phrases: string[]): boolean {
  const said = ` ${normalize(text)} `;
  return (phrases.length ? phrases.map(normalize) : DEFAULTS_NORMALIZED).some((phrase) => phrase !== "" && said.includes(` ${phrase} `));
}

// Every turn is checked against them: normalized once.
const DEFAULTS_NORMALIZED = DEFAULT_HANDOFF_PHRASES.map(normalize);

/** What changes with a handoff: into waiting, from bot only. Shared by the API's and a turn's handoff. */
const intoWaiting = (reason: string, summary: string) => Prisma.sql`
  handoff_state = 'waiting', handoff_since = now(), last_handoff_at = now(), handoff_assignee = NULL, handoff_reason = ${reason},
  handoff_summary = ${summary}, handoff_expired_at = NULL, knowledge_misses = 0, updated_at = now()`;

/**
 * A turn's handoff: the conversation goes from bot to waiting and the turn gets the handoff message as its
 * reply, in one statement, so that neither happens without the other (a crash in between would leave the user
 * told of a handoff nobody sees, or the reverse). Null when the conversation was no longer in bot, or the turn
 * was answered already: the caller finds out which.
 */
export async function storeHandoffReply(
  prisma: Db,
  turn: Message,
  handoff: { content: string; reason: string; summary: string },
  deliveredVia: string[],
): Promise<Message | null> {
  const [message] = await prisma.$queryRaw<Message[]>`
    WITH moved AS (
      UPDATE conversations SET ${intoWaiting(handoff.reason, handoff.summary)}, last_activity_at = now()
      WHERE id = ${turn.conversationId}::uuid AND handoff_state = 'bot'
        AND NOT EXISTS (SELECT 1 FROM messages WHERE in_reply_to_id = ${turn.id}::uuid)
      RETURNING id
    ), answered AS (
      UPDATE messages SET status = 'answered' WHERE id = ${turn.id}::uuid AND EXISTS (SELECT 1 FROM moved)
    )
    INSERT INTO messages (id, conversation_id, session_id, role, content, status, in_reply_to_id, tokens_used, processing_ms)
    SELECT gen_random_uuid(), moved.id, ${turn.sessionId}::uuid, 'assistant', ${handoff.content},
           ${replyStatus(turn, deliveredVia)}, ${turn.id}::uuid, 0, ${Date.now() - turn.createdAt.getTime()}
    FROM moved
    RETURNING ${MESSAGE_FIELDS}`;
  return message ?? null;
}

/** The message that tells a user of a change of handoff state, with the fields of ChannelRegistry.outboundOf. */
export interface Told {
  content: string;
  status: string;
  replyAddress: ReplyAddress | null;
}

/**
 * Changes the conversation (`set`, only `when` it holds) and stores the message that tells its user, in one
 * statement: a crash or a refused write leaves neither, and the change is tried again with its message. The
 * message is to be sent (ChannelRegistry.send) once stored. Null when `when` did not hold.
 */
async function changeAndTell(prisma: Db, conversationId: string, set: Prisma.Sql, when: Prisma.Sql, told: Told): Promise<Message | null> {
  const [message] = await prisma.$queryRaw<Message[]>`
    WITH changed AS (
      UPDATE conversations SET ${set} WHERE id = ${conversationId}::uuid AND ${when} RETURNING id
    )
    INSERT INTO messages (id, conversation_id, role, content, status, reply_address)
    SELECT gen_random_uuid(), changed.id, 'assistant', ${told.content}, ${told.status},
           ${told.replyAddress ? JSON.stringify(told.replyAddress) : null}::jsonb
    FROM changed
    RETURNING ${MESSAGE_FIELDS}`;
  return message ?? null;
}

/**
 * An integrator's or operator's handoff: bot -> waiting, with the message that tells the user (changeAndTell).
 * Null when the conversation is not in bot.
 */
export async function requestHandoff(
  prisma: Db,
  conversationId: string,
  handoff: { reason: string; summary: string },
  told: Told,
): Promise<{ conversation: Conversation; message: Message } | null> {
  const message = await changeAndTell(
    prisma,
    conversationId,
    intoWaiting(handoff.reason, handoff.summary),
    Prisma.sql`handoff_state = 'bot'`,
    told,
  );
  if (!message) return null;
  return { conversation: await prisma.conversation.findUniqueOrThrow({ where: { id: conversationId } }), message };
}

/**
 * An operator takes the conversation: from bot or waiting, or again by the one who has it. Null when another
 * operator has it.
 */
export async function takeOver(prisma: Db, conversationId: string, assignee: string): Promise<Conversation | null> {
  // Waiting since the handoff stays; a takeover straight from bot starts now.
  const [row] = await prisma.$queryRaw<{ id: string }[]>`
    UPDATE conversations SET handoff_state = 'human', handoff_assignee = ${assignee},
      handoff_since = COALESCE(handoff_since, now()), handoff_expired_at = NULL, updated_at = now()
    WHERE id = ${conversationId}::uuid AND (handoff_state <> 'human' OR handoff_assignee = ${assignee})
    RETURNING id`;
  return row ? prisma.conversation.findUnique({ where: { id: row.id } }) : null;
}

/** Back to the assistant, which answers again from the next message. Null when it was in bot already. */
export async function release(prisma: Db, conversationId: string): Promise<Conversation | null> {
  const { count } = await prisma.conversation.updateMany({
    where: { id: conversationId, handoffState: { not: "bot" } },
    data: {
      handoffState: "bot",
      handoffSince: null,
      handoffAssignee: null,
      handoffReason: null,
      handoffExpiredAt: null,
      knowledgeMisses: 0,
    },
  });
  return count ? prisma.conversation.findUnique({ where: { id: conversationId } }) : null;
}

/**
 * Marks held those of the turns still pending whose conversation is not in bot (a job that ran after a
 * handoff); returns how many. The state is checked again here: a conversation released meanwhile keeps its
 * turns pending, to be answered.
 */
export async function holdTurns(prisma: Db, turnIds: string[]): Promise<number> {
  return prisma.$executeRaw`
    UPDATE messages m SET status = ${HELD}
    FROM conversations c
    WHERE m.id = ANY(${turnIds}::uuid[]) AND m.status = 'pending' AND c.id = m.conversation_id AND c.handoff_state <> 'bot'`;
}

/** One more assistant answer without relevant knowledge; returns how many in a row now. */
export async function countMiss(prisma: Db, conversationId: string): Promise<number> {
  const [row] = await prisma.$queryRaw<{ misses: number }[]>`
    UPDATE conversations SET knowledge_misses = knowledge_misses + 1 WHERE id = ${conversationId}::uuid
    RETURNING knowledge_misses AS misses`;
  return row?.misses ?? 0;
}

/** An answer that found knowledge ends the run of misses (a no-op write when there was none). */
export async function resetMisses(prisma: Db, conversationId: string): Promise<void> {
  await prisma.$executeRaw`UPDATE conversations SET knowledge_misses = 0 WHERE id = ${conversationId}::uuid AND knowledge_misses > 0`;
}

const SUMMARY_MESSAGES = 6;
const SUMMARY_CHARS = 300;

/** The operator's summary without a model: the last few messages, each cut short. */
export async function transcriptSummary(prisma: Db, conversationId: string): Promise<string> {
  const last = await prisma.message.findMany({
    where: { conversationId, role: { in: ["user", "assistant"] } },
    orderBy: { seq: "desc" },
    take: SUMMARY_MESSAGES,
    select: { role: true, content: true },
  });
  return last
    .reverse()
    .map((m) => `${m.role}: ${m.content.length > SUMMARY_CHARS ? `${m.content.slice(0, SUMMARY_CHARS)}…` : m.content}`)
    .join("\n");
}

/** The handoff message of the conversation's assistant, else the hub's. */
export async function handoffMessageOf(prisma: Db, assistantId: string | null, settings: HandoffSettings): Promise<string> {
  if (!assistantId) return settings.message;
  const assistant = await prisma.assistant.findUnique({ where: { id: assistantId }, select: { handoffMessage: true } });
  return assistant?.handoffMessage ?? settings.message;
}

const EXPIRE_BATCH = 500;

/**
 * Conversations waiting longer than the timeout that nobody took: each is claimed once (marked expired, or with
 * `timeoutRelease` put back in bot) by a conditional UPDATE that stores the timeout message with it
 * (changeAndTell), so that of several sweepers one tells its user, and a claim never goes without its message.
 * Returns the messages to send and the conversations as they are now, for their events.
 */
export async function expireWaiting(
  prisma: Db,
  channels: ChannelRegistry,
  settings: HandoffSettings,
): Promise<{ message: Message; conversation: Conversation }[]> {
  const cutoff = new Date(Date.now() - settings.timeoutMs);
  const change = settings.timeoutRelease
    ? Prisma.sql`handoff_state = 'bot', handoff_since = NULL, handoff_assignee = NULL, handoff_expired_at = NULL, knowledge_misses = 0`
    : Prisma.sql`handoff_expired_at = now()`;
  const still = Prisma.sql`handoff_state = 'waiting' AND handoff_since < ${cutoff} AND handoff_expired_at IS NULL`;
  const due = await prisma.$queryRaw<{ id: string }[]>`
    SELECT id FROM conversations WHERE ${still} ORDER BY handoff_since LIMIT ${EXPIRE_BATCH}`;
  const expired: { message: Message; conversation: Conversation }[] = [];
  for (const { id } of due) {
    const told = { content: settings.timeoutMessage, ...(await channels.outboundOf(id)) };
    const message = await changeAndTell(prisma, id, Prisma.sql`${change}, updated_at = now()`, still, told);
    if (message) expired.push({ message, conversation: await prisma.conversation.findUniqueOrThrow({ where: { id } }) });
  }
  return expired;
}
