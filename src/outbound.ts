import type { Db } from "./db/database";
import type { Message, OutboundPart } from "./generated/prisma/client";

// Replies sent through an API channel (Twilio) go out as parts, each recorded in outbound_parts before it
// is sent. The channel's sender and the deliver worker meet here, and so do the provider's status callbacks.

/** What an API channel plugs into the deliver worker. */
export interface ApiSender {
  /** Conversation channels whose replies this sender delivers. */
  channels: string[];
  /** The parts a reply is sent as, in order. */
  split(content: string): string[];
  /** Sends one part of the reply to `turn`; resolves once the provider accepted it. Throws DeliveryError. */
  send(part: OutboundPart, turn: Message): Promise<{ providerId: string; status: string }>;
}

/** A send that failed. Permanent: sending again cannot succeed (invalid number, closed window). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** How long the provider asked us to wait (Retry-After). */
    readonly retryAfterMs?: number,
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

/** The parts of a reply, created on first delivery; the same split on a retry finds them already there. */
export async function partsOf(prisma: Db, messageId: string, bodies: string[]): Promise<OutboundPart[]> {
  await prisma.outboundPart.createMany({
    data: bodies.map((body, position) => ({ messageId, position, body })),
    skipDuplicates: true,
  });
  return prisma.outboundPart.findMany({ where: { messageId }, orderBy: { position: "asc" } });
}

/**
 * Records what became of one part (the send's answer or a status callback) and rolls the parts up onto the
 * reply's own status: the least advanced part, or the failure if one failed. The reply's row is locked so
 * that callbacks of two parts arriving together do not overwrite each other with stale roll-ups.
 */
export async function recordPartStatus(
  prisma: Db,
  where: { partId: string } | { providerId: string },
  update: { status: string; providerId?: string; error?: string },
): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const part = await tx.outboundPart.findUnique({ where: "partId" in where ? { id: where.partId } : { providerId: where.providerId } });
    if (!part) return false;
    await tx.$queryRaw`SELECT id FROM messages WHERE id = ${part.messageId}::uuid FOR UPDATE`;
    await tx.outboundPart.updateMany({
      where: { id: part.id, status: { in: below(update.status) } },
      data: { status: update.status, error: update.error ?? null },
    });
    if (update.providerId && !part.providerId) {
      await tx.outboundPart.update({ where: { id: part.id }, data: { providerId: update.providerId } });
    }
    const parts = await tx.outboundPart.findMany({ where: { messageId: part.messageId }, orderBy: { position: "asc" } });
    const failed = parts.find((p) => FINAL_FAILURES.has(p.status));
    const least = parts.reduce((a, b) => (rank(b.status) < rank(a.status) ? b : a));
    const status = failed?.status ?? (rank(least.status) > 0 ? least.status : null);
    if (status) {
      const message = await tx.message.findUniqueOrThrow({ where: { id: part.messageId }, select: { error: true } });
      const error = failed?.error && !message.error?.includes(failed.error) ? joined(message.error, failed.error) : message.error;
      await tx.message.update({ where: { id: part.messageId }, data: { status, error, providerId: parts[0].providerId } });
    }
    return true;
  });
}

/** A send that failed and may be tried again: the reason is kept on the part until a later attempt succeeds. */
export async function recordAttemptError(prisma: Db, partId: string, error: string): Promise<void> {
  await prisma.outboundPart.update({ where: { id: partId }, data: { error } });
}

const joined = (a: string | null, b: string) => (a ? `${a}; ${b}` : b);
