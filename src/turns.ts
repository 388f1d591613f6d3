import type { Queue } from "bullmq";
import { type AssistantProvider, type AssistantReply, type AssistantRequest, ProviderError } from "./assistants/provider";
import { type AssistantLookup, previewProfile, resolveDeployed } from "./assistants/store";
import type { Batcher } from "./batch";
import type { Unheard } from "./bursts";
import type { ReplyBus } from "./bus";
import type { ChannelRegistry } from "./channels";
import {
  type HistoryMessage,
  historyBefore,
  type PendingReply,
  type ReplyInput,
  type StoredReply,
  type TurnOptions,
  type TurnWindow,
  toWire,
} from "./conversations";
import type { Database, Db } from "./db/database";
import { HubError } from "./errors";
import type { Message } from "./generated/prisma/client";
import { asksForPerson, type HandoffSettings } from "./handoff";
import { type HandoffEvent, handOff, missedTooOften } from "./handoff-turns";
import type { KnowledgeIndex } from "./knowledge/index";
import type { Logger } from "./logger";
import { metrics } from "./metrics";
import { IMAGES_NOT_READ, readPhotos } from "./photos";
import { type AskJob, askJob, enqueueFollowUp } from "./queue";
import type { AssistantProfile } from "./types";
import { readVoiceNote, type VoiceSettings } from "./voice";

export const FALLBACK_REPLY = "Sorry, I can't answer right now. Please try again in a moment.";

export interface TurnDeps {
  prisma: Db;
  db: Database;
  /** Replies are stored in batches (src/batch.ts, storeReplies), and jobs read what they answer in batches (turnWindows). */
  replies: Batcher<PendingReply, StoredReply>;
  windows: Batcher<{ conversationId: string; seq: bigint }, TurnWindow>;
  assistants: AssistantLookup;
  bus: ReplyBus;
  knowledge: KnowledgeIndex;
  providers: Record<AssistantProfile["provider"], AssistantProvider>;
  defaultProvider: AssistantProfile["provider"];
  historyMessages: number;
  logger: Logger;
  /** The channels: a reply to an address one sends to through an API is stored unsent and handed to it. */
  channels: ChannelRegistry;
  /** Where follow-ups of turns the assistant could not be reached for are queued, and for how long they are tried. */
  followUps?: { queue: Queue<AskJob>; forMs: number };
  /** Handoff to a person: the hub's settings, and who hears of each handoff (src/handoff-turns.ts). */
  handoff: HandoffSettings;
  onHandoff?: (event: HandoffEvent) => Promise<void>;
  /** Voice notes: transcribed into the turn's content, or answered with a reply (src/voice.ts). */
  voice?: VoiceSettings;
}

/**
 * Answers one user message: history + knowledge passages + assistant, streaming deltas on the bus, then
 * stores the reply (at most once, see storeReplies) and publishes it. Provider failures end the turn with a
 * fallback reply, and when the provider could not be reached, schedule a follow-up (workers/follow-up.ts);
 * any other error is thrown for the job to retry.
 */
export async function runTurn(
  deps: TurnDeps,
  received: Message,
  orgId: string,
  history?: HistoryMessage[],
  unheard?: Unheard,
): Promise<Message | null> {
  // A burst's voice notes were read before (src/bursts.ts): one not heard is told after the reply, or is the
  // reply when the burst said nothing else.
  const voice = unheard && !received.content ? unheard : await readVoiceNote(deps, received, orgId);
  if ("refused" in voice) return failTurn(deps, received, orgId, voice.refused, voice.reply);
  const { turn } = voice;
  const log = deps.logger.child({ turn: turn.id, conversation: turn.conversationId });
  if (unheard) log.warn({ reason: unheard.refused }, "a voice note of the burst was not heard: the reply says so");
  const base = { orgId, conversationId: turn.conversationId, turnId: turn.id };

  let profile: AssistantProfile;
  try {
    profile = await profileOf(deps, turn, orgId);
  } catch (err) {
    if (!(err instanceof HubError)) throw err;
    return finish(deps, turn, orgId, { content: FALLBACK_REPLY, tokensUsed: 0, sources: [], error: "assistant no longer deployed" }, []);
  }
  // Asked for a person in so many words: the assistant is not consulted.
  if (asksForPerson(turn.content, profile.handoffPhrases ?? [])) return handOff(deps, turn, orgId, profile, "the user asked for a person");
  // Photos: passed to a model that reads them; else the caption is answered and the user told, or only told.
  const photos = await readPhotos(deps, turn, profile);
  const notRead = photos !== null && "notRead" in photos;
  const told = [notRead ? IMAGES_NOT_READ : "", unheard?.reply ?? ""].filter(Boolean).join("\n\n");
  if (notRead && !photos.captioned) return finish(deps, turn, orgId, { content: told, tokensUsed: 0, sources: [] }, []);

  // Typing and deltas only for a turn someone watches being written: each is a Redis command.
  const stream = Boolean((turn.turnOptions as unknown as TurnOptions).stream);
  if (stream) await deps.bus.publish({ type: "typing", ...base });
  const started = Date.now();
  const deltas = stream ? new DeltaBatcher((content) => deps.bus.publish({ type: "delta", ...base, content }).catch(() => {})) : null;
  let reply: ReplyInput;
  try {
    const images = photos && "images" in photos ? photos.images : undefined;
    const out = await consult(deps, profile, turn, orgId, deltas ? (content) => deltas.add(content) : undefined, history, images);
    deltas?.flush();
    reply = told ? { ...out, content: `${out.content}\n\n${told}` } : out;
    metrics.assistantSeconds.observe({ provider: profile.provider }, (Date.now() - started) / 1000);
    log.info({ provider: profile.provider, ms: Date.now() - started, tokens: out.tokensUsed }, "assistant replied");
    const reason = out.handoff?.reason ?? (await missedTooOften(deps, profile, turn, out));
    if (reason) return handOff(deps, turn, orgId, profile, reason);
  } catch (err) {
    deltas?.flush();
    if (!(err instanceof ProviderError)) throw err;
    metrics.assistantErrors.inc({ provider: profile.provider });
    const followUp = err.unreachable && Boolean(deps.followUps?.forMs);
    log.warn({ provider: profile.provider, err: err.message, followUp }, "assistant failed; sending the fallback reply");
    reply = { content: FALLBACK_REPLY, tokensUsed: 0, sources: [], error: err.message, followUp };
  }
  const message = await finish(deps, turn, orgId, reply, profile.suggestions);
  if (reply.followUp && deps.followUps) {
    // Lost (Redis away), it is scheduled by the sweeper, which finds the turn retrying.
    await enqueueFollowUp(deps.followUps.queue, askJob(turn)).catch((err) => log.warn({ err: err.message }, "follow-up not queued"));
  }
  return message;
}

/** The assistant a turn is answered by: the deployed one it names, or its inline preview. Throws HubError. */
export function profileOf(deps: TurnDeps, turn: Message, orgId: string): Promise<AssistantProfile> {
  const options = turn.turnOptions as unknown as TurnOptions;
  return "ref" in options.assistant
    ? resolveDeployed(deps.assistants, orgId, options.assistant.ref, deps.defaultProvider)
    : Promise.resolve(previewProfile(options.assistant.preview, deps.defaultProvider));
}

/**
 * Asks the assistant about a turn, with the history before it (read unless given) and the passages of its
 * folders.
 */
export async function consult(
  deps: TurnDeps,
  profile: AssistantProfile,
  turn: Message,
  orgId: string,
  onDelta?: (content: string) => void,
  knownHistory?: HistoryMessage[],
  images?: AssistantRequest["images"],
): Promise<AssistantReply> {
  const options = turn.turnOptions as unknown as TurnOptions;
  // The message's own folders, else the assistant's, else all of the org's (only its public ones for the public).
  const folderIds = options.folderIds?.length ? options.folderIds : profile.folderIds.length ? profile.folderIds : undefined;
  const publicOnly = !folderIds && Boolean(options.fromPublic);
  const [history, passages] = await Promise.all([
    knownHistory ?? historyBefore(deps.db, turn.conversationId, turn.seq, deps.historyMessages),
    deps.knowledge.search({ orgId, folderIds, publicOnly }, turn.content),
  ]);
  return deps.providers[profile.provider].reply(
    { assistant: profile, history, message: turn.content, images, passages, offerHandoff: true },
    onDelta,
  );
}

/** Ends a turn that cannot be answered (retries exhausted) with the fallback reply the user sees (or `content`). */
export function failTurn(deps: TurnDeps, turn: Message, orgId: string, reason: string, content = FALLBACK_REPLY): Promise<Message | null> {
  return finish(deps, turn, orgId, { content, tokensUsed: 0, sources: [], error: reason }, []);
}

/** Stores and publishes a turn's reply; null when the turn was held instead (a person has its conversation). */
async function finish(deps: TurnDeps, turn: Message, orgId: string, reply: ReplyInput, suggestions: string[]): Promise<Message | null> {
  const { message, created } = await deps.replies.submit({ turn, reply });
  if (!message) {
    deps.logger.info({ turn: turn.id, conversation: turn.conversationId }, "a person has the conversation: turn held, not answered");
    await publishHeld(deps, orgId, turn.conversationId, [turn.id]);
    return null;
  }
  if (created) {
    const outcome = reply.error ? "failed" : "answered";
    metrics.turnSeconds.observe({ outcome }, (Date.now() - turn.createdAt.getTime()) / 1000);
  }
  await publishReply(deps, turn, orgId, message, suggestions);
  return message;
}

/**
 * Publishes a stored reply and hands it to API channels. Runs again when a job is retried after the reply
 * was stored: listeners dedupe by message id, API sends by the reply's id, and a crash between storing
 * and publishing must not leave a waiting client without its reply.
 */
export async function publishReply(deps: TurnDeps, turn: Message, orgId: string, reply: Message, suggestions: string[] = []) {
  await deps.bus.publish({
    type: "reply",
    orgId,
    conversationId: turn.conversationId,
    turnId: turn.id,
    message: toWire(reply, suggestions),
    failed: Boolean(reply.error),
  });
  await deps.channels.deliver(reply);
}

/**
 * Tells whoever waits for these turns' replies (a REST request, a stream) that none comes: a person has the
 * conversation. Losing this event loses nothing stored: the waiter times out, and asking again says held.
 */
export async function publishHeld(deps: Pick<TurnDeps, "bus">, orgId: string, conversationId: string, turnIds: string[]): Promise<void> {
  for (const turnId of turnIds) await deps.bus.publish({ type: "held", orgId, conversationId, turnId }).catch(() => {});
}

const DELTA_EVERY_MS = 40;

/**
 * Joins the pieces a provider streams and publishes them at most every DELTA_EVERY_MS: a reader sees the
 * reply grow as smoothly as before, and a fast provider's dozens of pieces cost one or two publishes.
 * The last piece is flushed before the reply is published, so a listener never gets a delta after it.
 */
class DeltaBatcher {
  private pending = "";
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly publish: (content: string) => void) {}

  add(content: string) {
    this.pending += content;
    this.timer ??= setTimeout(() => this.flush(), DELTA_EVERY_MS);
  }

  flush() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending) this.publish(this.pending);
    this.pending = "";
  }
}
