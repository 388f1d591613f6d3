import { replyTo } from "./conversations";
import type { Message } from "./generated/prisma/client";
import { countMiss, holdTurns, resetMisses, storeHandoffReply, transcriptSummary } from "./handoff";
import { metrics } from "./metrics";
import { publishHeld, publishReply, type TurnDeps } from "./turns";
import type { AssistantProfile } from "./types";

// A turn that ends in a handoff: the user asked for a person, the model called its handoff tool, or the
// knowledge assistant found nothing relevant too many times in a row.

/** What integrators hear of a handoff (HANDOFF_WEBHOOK_URL) and operators see. */
export interface HandoffEvent {
  type: "handoff.requested" | "handoff.taken" | "handoff.released" | "handoff.timed_out";
  orgId: string;
  conversationId: string;
  /** The id its channel knows it by (`whatsapp_+351…`). */
  externalId: string;
  channel: string;
  state: "bot" | "waiting" | "human";
  reason?: string | null;
  summary?: string | null;
  assignee?: string | null;
  at: string;
}

const SUMMARY_INSTRUCTIONS =
  "Summarize this conversation for the person on the team who takes it over from the assistant: who the user is if " +
  "known, what they want, what they were told, and what is still open. At most five short lines, in the user's language.";

/**
 * Hands the turn's conversation to a person: the turn's reply is the assistant's handoff message (sent like any
 * reply, on the turn's channel), and the conversation is waiting, in one statement. The operator's summary is the
 * last messages; with an OpenAI-compatible assistant the model's summary replaces it once written (after the user
 * has the reply: a summary must not delay it). Null when the turn was held instead: a person had the conversation
 * already.
 */
export async function handOff(
  deps: TurnDeps,
  turn: Message,
  orgId: string,
  profile: AssistantProfile,
  reason: string,
): Promise<Message | null> {
  const content = profile.handoffMessage ?? deps.handoff.message;
  const summary = await transcriptSummary(deps.prisma, turn.conversationId);
  const message = await storeHandoffReply(deps.prisma, turn, { content, reason, summary }, deps.channels.deliveredVia);
  if (!message) {
    // Answered already (a retried job: publish that again), or a person has the conversation: hold the turn.
    const existing = await replyTo(deps.prisma, turn.id);
    if (existing) await publishReply(deps, turn, orgId, existing);
    else if (await holdTurns(deps.prisma, [turn.id])) await publishHeld(deps, orgId, turn.conversationId, [turn.id]);
    return existing;
  }
  metrics.turnSeconds.observe({ outcome: "handoff" }, (Date.now() - turn.createdAt.getTime()) / 1000);
  deps.logger.info({ turn: turn.id, conversation: turn.conversationId, reason }, "conversation handed to a person");
  await publishReply(deps, turn, orgId, message);
  const modelSummary = profile.provider === "openai" ? await summarize(deps, profile, turn) : null;
  if (modelSummary) {
    await deps.prisma.conversation.updateMany({
      where: { id: turn.conversationId, handoffState: { not: "bot" } },
      data: { handoffSummary: modelSummary },
    });
  }
  const conversation = await deps.prisma.conversation.findUnique({ where: { id: turn.conversationId } });
  if (conversation) await deps.onHandoff?.(eventOf("handoff.requested", conversation));
  return message;
}

/** The model's summary of the conversation for the operator; null when it cannot be had (the transcript stays). */
async function summarize(deps: TurnDeps, profile: AssistantProfile, turn: Message): Promise<string | null> {
  const history = await deps.prisma.message.findMany({
    where: { conversationId: turn.conversationId, role: { in: ["user", "assistant"] } },
    orderBy: { seq: "desc" },
    take: deps.historyMessages,
    select: { role: true, content: true },
  });
  const transcript = history
    .reverse()
    .map((m) => `${m.role}: ${m.content}`)
    .join("\n");
  try {
    const out = await deps.providers.openai.reply({
      assistant: { ...profile, instructions: SUMMARY_INSTRUCTIONS },
      history: [],
      message: transcript,
      passages: [],
    });
    return out.content.trim() || null;
  } catch (err) {
    deps.logger.warn({ turn: turn.id, err: (err as Error).message }, "handoff summary not written by the model; the last messages stand");
    return null;
  }
}

/**
 * Counts an answer of the knowledge assistant that found nothing relevant, and says why to hand off once there
 * were the assistant's limit of them in a row (null: not yet). An answer that found knowledge ends the run.
 */
export async function missedTooOften(
  deps: TurnDeps,
  profile: AssistantProfile,
  turn: Message,
  reply: { noKnowledge?: boolean },
): Promise<string | null> {
  const limit = profile.handoffAfterMisses ?? deps.handoff.afterMisses;
  if (!limit || reply.noKnowledge === undefined) return null;
  if (!reply.noKnowledge) {
    await resetMisses(deps.prisma, turn.conversationId);
    return null;
  }
  const misses = await countMiss(deps.prisma, turn.conversationId);
  return misses >= limit ? `no relevant knowledge ${misses} times in a row` : null;
}

export function eventOf(
  type: HandoffEvent["type"],
  c: {
    id: string;
    orgId: string;
    externalId: string;
    channel: string;
    handoffState: string;
    handoffReason: string | null;
    handoffSummary: string | null;
    handoffAssignee: string | null;
  },
): HandoffEvent {
  return {
    type,
    orgId: c.orgId,
    conversationId: c.id,
    externalId: c.externalId,
    channel: c.channel,
    state: c.handoffState as HandoffEvent["state"],
    reason: c.handoffReason,
    summary: c.handoffSummary,
    assignee: c.handoffAssignee,
    at: new Date().toISOString(),
  };
}
