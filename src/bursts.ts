import type { DueMessage } from "./conversations";
import type { Attachment } from "./types";
import { readVoiceNote, type VoiceDeps, VoiceNoteError } from "./voice";

// Bursts (issue #16): the messages a user wrote together are answered in one turn, the last message's
// (workers/ask.ts; src/conversations.ts closes the earlier ones with its reply). Each voice note of the burst is
// transcribed onto its own message first (src/voice.ts: kept in its metadata, its audio in `media`), so a
// retried or recovered job reads what is stored and downloads nothing twice. Each photo keeps the message and
// position it came with, so its download is stored under its own message (src/photos.ts).
//
// A voice note that cannot be heard (no transcription service, too long, or still failing on the job's last
// attempt) does not hold the rest back: the turn answers what else was written, and its reply adds the
// voice-note reply (src/turns.ts). Nothing of this is stored until the reply is, which closes every message
// of the burst in the same statement: a process that dies before runs it all again, never half.

/** A voice note of the burst not heard: why, and what the user is told. */
export type Unheard = { refused: string; reply: string };

/** The turn of a burst: the last message, saying what they all say; `unheard` when a voice note was not heard. */
export async function burstOf(deps: VoiceDeps, due: DueMessage[], lastAttempt: boolean): Promise<{ turn: DueMessage; unheard?: Unheard }> {
  const last = due[due.length - 1];
  const contents: string[] = [];
  const attachments: Attachment[] = [];
  let unheard: Unheard | undefined;
  // One after the other: a burst is a few messages, and its downloads stay bounded.
  for (const message of due) {
    const read = await readVoiceNote(deps, message, message.orgId).catch((err) => {
      if (lastAttempt && err instanceof VoiceNoteError) return { refused: err.message, reply: err.reply };
      throw err;
    });
    // A voice note's words are its transcript; one not heard says only "[audio/ogg]", which is left out.
    if ("turn" in read) contents.push(read.turn.content);
    else if (!PLACEHOLDER.test(message.content.trim())) contents.push(message.content);
    if ("refused" in read) unheard = read;
    // Voice notes are dealt with here: the turn's attachments are the rest, each with where it is stored.
    for (const [position, a] of ((message.attachments ?? []) as unknown as Attachment[]).entries()) {
      if (!a.contentType?.startsWith("audio/")) attachments.push({ ...a, from: { messageId: message.id, position } });
    }
  }
  const content = contents.filter(Boolean).join("\n");
  return { turn: { ...last, content, attachments: attachments as object[] }, ...(unheard ? { unheard } : {}) };
}

/** What the Twilio adapter writes for media sent without text: "[image/jpeg] [audio/ogg]". */
export const PLACEHOLDER = /^(\[[^\]]+\]\s*)+$/;
