import { PLACEHOLDER } from "./bursts";
import type { ChannelRegistry } from "./channels";
import type { Db } from "./db/database";
import type { Message } from "./generated/prisma/client";
import type { AssistantProfile, Attachment, ReplyAddress } from "./types";
import { storedMedia } from "./voice";

// Photos (issue #16): a user's images reach an assistant whose model reads them (its `vision` setting) as image
// parts, downloaded through the channel once (kept in `media`, see src/voice.ts). Another assistant reads the
// caption, and the user is told that images are not read.

/** What the user is told when their image was not read. */
export const IMAGES_NOT_READ = "(I can't see images yet: I only read the text sent with them.)";

// WhatsApp's own limit for an image.
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
const MAX_IMAGES = 4;

export type Photos =
  | { images: { contentType: string; data: Buffer }[] }
  /** Not read: `captioned` when the user wrote something with them (the assistant answers that). */
  | { notRead: true; captioned: boolean }
  | null;

/** The turn's images for the assistant, or that they are not read; null when it has none from a channel. */
export async function readPhotos(
  deps: { prisma: Db; channels: ChannelRegistry },
  turn: Message,
  profile: AssistantProfile,
): Promise<Photos> {
  const attachments = (turn.attachments ?? []) as unknown as Attachment[];
  const positions = attachments.flatMap((a, i) => (a.contentType?.startsWith("image/") ? [i] : [])).slice(0, MAX_IMAGES);
  const address = turn.replyAddress as ReplyAddress | null;
  // Only media that came through a channel that fetches it (a signed webhook's URLs): never a URL a caller set.
  const fetchMedia = address && deps.channels.senderFor(address.via)?.fetchMedia;
  if (!positions.length || !fetchMedia) return null;
  if (!profile.vision) return { notRead: true, captioned: !PLACEHOLDER.test(turn.content.trim()) };
  // A burst's photo is kept under the message it came with (src/bursts.ts), as it would be alone.
  const images = await Promise.all(
    positions.map((i) => {
      const { messageId, position } = attachments[i].from ?? { messageId: turn.id, position: i };
      return storedMedia(deps.prisma, messageId, position, () => fetchMedia(attachments[i].url, MAX_IMAGE_BYTES));
    }),
  );
  return { images };
}
