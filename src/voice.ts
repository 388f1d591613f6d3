import type { ChannelRegistry } from "./channels";
import type { Db } from "./db/database";
import type { Message } from "./generated/prisma/client";
import type { Attachment, ReplyAddress } from "./types";

// Voice notes (issue #16): a user's audio message is downloaded through its channel (Twilio's media needs the
// account's credentials: ChannelSender.fetchMedia), kept once in `media`, transcribed by an OpenAI-compatible
// /audio/transcriptions endpoint, and the transcript becomes the turn's content, marked in its metadata
// (`voice`) as coming from audio. Run by the ask worker at the start of the turn (src/turns.ts), so the
// webhook's answer stays fast and the turn keeps its place in the conversation's order.
//
// If the process dies: before the download is stored, the retried job downloads again; after, it reads the
// stored copy (fetched at most once); after the transcript is stored, the retry finds it and asks at once.
// A failed download or transcription throws VoiceNoteError: the job is retried, and its last attempt answers
// the user with the voice-note reply (workers/ask.ts), never silence.

type Transcription = { baseUrl: string; model: string; apiKey?: string };

export interface VoiceSettings {
  /** Where voice notes are transcribed (TRANSCRIBE_*) unless the org set its own; null: answered with `reply`. */
  transcription: Transcription | null;
  /** TRANSCRIBE_MODEL: the model of an org's own service when it names none. */
  model: string;
  /** What the user is told when a voice note cannot be listened to. */
  reply: string;
  maxBytes: number;
  maxSeconds: number;
  timeoutMs: number;
}

/** A voice note not read this time: the job retries, and the last attempt answers with `reply`. */
export class VoiceNoteError extends Error {
  constructor(
    message: string,
    readonly reply: string,
  ) {
    super(message);
    this.name = "VoiceNoteError";
  }
}

export interface VoiceDeps {
  prisma: Db;
  channels: ChannelRegistry;
  voice?: VoiceSettings;
}

/** The turn with its voice note transcribed (as it was when it has none), or why it gets `reply` instead. */
export async function readVoiceNote(
  deps: VoiceDeps,
  turn: Message,
  orgId: string,
): Promise<{ turn: Message } | { refused: string; reply: string }> {
  const settings = deps.voice;
  const attachments = (turn.attachments ?? []) as unknown as Attachment[];
  const position = attachments.findIndex((a) => a.contentType?.startsWith("audio/"));
  const metadata = (turn.metadata ?? {}) as Record<string, unknown>;
  if (!settings || position < 0 || metadata.voice) return { turn };
  // Only media that came through a channel that fetches it (a signed webhook's URLs): never a URL a caller set.
  const address = turn.replyAddress as ReplyAddress | null;
  const fetchMedia = address && deps.channels.senderFor(address.via)?.fetchMedia;
  if (!fetchMedia) return { turn };
  const transcription = await transcriptionOf(deps.prisma, settings, orgId);
  if (!transcription) return { refused: "voice note: no transcription service is configured", reply: settings.reply };

  let media: Media;
  try {
    media = await storedMedia(deps.prisma, turn.id, position, () => fetchMedia(attachments[position].url, settings.maxBytes));
  } catch (err) {
    if (err instanceof MediaTooLarge) return { refused: err.message, reply: settings.reply };
    throw new VoiceNoteError(`voice note not downloaded: ${(err as Error).message}`, settings.reply);
  }
  const seconds = oggSeconds(media.data);
  if (seconds !== null && seconds > settings.maxSeconds) {
    return { refused: `voice note of ${Math.round(seconds)} s, over the ${settings.maxSeconds} s limit`, reply: settings.reply };
  }
  const text = await transcribe(settings, transcription, media);
  if (!text) return { refused: "voice note: the transcription is empty", reply: settings.reply };
  const voice = { contentType: media.contentType, size: media.data.length, ...(seconds !== null ? { seconds } : {}) };
  const updated = await deps.prisma.message.update({
    where: { id: turn.id },
    data: {
      content: text,
      metadata: { ...metadata, voice: { transcribed: true, ...voice } },
      attachments: attachments.map((a, i) => (i === position ? { ...a, size: media.data.length } : a)) as object[],
    },
  });
  return { turn: updated };
}

type Media = { contentType: string; data: Buffer };

/** The message's media at `position`: the copy stored before, else downloaded and stored (at most once). */
export async function storedMedia(prisma: Db, messageId: string, position: number, download: () => Promise<Media>): Promise<Media> {
  const kept = await prisma.media.findUnique({ where: { messageId_position: { messageId, position } } });
  if (kept) return { contentType: kept.contentType, data: Buffer.from(kept.data) };
  const media = await download();
  await prisma.media.upsert({
    where: { messageId_position: { messageId, position } },
    create: { messageId, position, contentType: media.contentType, size: media.data.length, data: new Uint8Array(media.data) },
    update: {},
  });
  return media;
}

/** Thrown by a channel's fetchMedia when the media is over the limit: no retry can change that. */
export class MediaTooLarge extends Error {}

/** The org's own transcription service (its key goes only there), else the hub's; null when neither is set. */
async function transcriptionOf(prisma: Db, settings: VoiceSettings, orgId: string): Promise<Transcription | null> {
  const org = await prisma.org.findUnique({
    where: { id: orgId },
    select: { transcribeBaseUrl: true, transcribeModel: true, transcribeApiKey: true },
  });
  if (!org?.transcribeBaseUrl) return settings.transcription;
  return { baseUrl: org.transcribeBaseUrl, model: org.transcribeModel ?? settings.model, apiKey: org.transcribeApiKey ?? undefined };
}

async function transcribe(settings: VoiceSettings, t: Transcription, media: Media): Promise<string> {
  const form = new FormData();
  const extension = media.contentType.includes("ogg") ? "ogg" : (media.contentType.split("/")[1]?.split(";")[0] ?? "audio");
  form.append("file", new Blob([new Uint8Array(media.data)], { type: media.contentType }), `voice.${extension}`);
  form.append("model", t.model);
  let res: Response;
  try {
    res = await fetch(`${t.baseUrl.replace(/\/+$/, "")}/audio/transcriptions`, {
      method: "POST",
      headers: t.apiKey ? { authorization: `Bearer ${t.apiKey}` } : {},
      body: form,
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (err) {
    throw new VoiceNoteError(`transcription unreachable: ${(err as Error).message}`, settings.reply);
  }
  if (!res.ok) throw new VoiceNoteError(`transcription failed: HTTP ${res.status}`, settings.reply);
  const body = (await res.json().catch(() => ({}))) as { text?: unknown };
  return typeof body.text === "string" ? body.text.trim() : "";
}

/**
 * The length of an Ogg (Opus) recording, WhatsApp's voice notes: the granule position of its last page, in
 * 48 kHz samples for Opus. Null when the data is not Ogg: then only the size limit applies.
 */
export function oggSeconds(data: Buffer): number | null {
  const last = data.lastIndexOf("OggS");
  if (last < 0 || last + 14 > data.length || data.subarray(0, 4).toString() !== "OggS") return null;
  const granule = data.readBigUInt64LE(last + 6);
  return Number(granule) / 48_000;
}
