import type { ChannelRegistry, ChannelSender } from "./channels";
import type { Db, Sql } from "./db/database";
import { HubError } from "./errors";
import type { Message } from "./generated/prisma/client";
import { AWAITING_WINDOW, type DeliveryStatements, UNSENT } from "./outbound";
import type { ReplyAddress } from "./types";

// A channel may deliver free-form messages only for a while after the user last wrote (WhatsApp: 24 hours,
// Meta's customer service window; see ChannelSender.freeFormWindowMs). The hub tracks the user's last inbound
// message through the channel (a message with a reply address: the signed webhook's, not an API's) and:
// - refuses at once what a caller would send outside it (an operator's or a proactive message: 422),
// - holds a reply that would go out after it closed (workers/deliver.ts: holdOutsideWindow): the number's
//   re-engagement template goes instead, and the reply waits (status AWAITING_WINDOW) until the user writes
//   again (src/conversations.ts: INSERT_INBOUND releases it in the statement storing the message); with no
//   template configured the reply is recorded undelivered, `outside_window`.
//   The provider may also take the message and report the refusal later, in a status callback
//   (refusedAfterSending): the reply then takes the same path.

/** When the user last wrote through the channel; null when never (a conversation the business began). Also in DELIVERY_HEADS. */
export async function lastInboundAt(prisma: Db, conversationId: string): Promise<Date | null> {
  const [last] = await prisma.$queryRaw<{ createdAt: Date }[]>`
    SELECT created_at AS "createdAt" FROM messages
    WHERE conversation_id = ${conversationId}::uuid AND role = 'user' AND reply_address IS NOT NULL
    ORDER BY seq DESC LIMIT 1`;
  return last?.createdAt ?? null;
}

/** Why a free-form message to the conversation cannot go now, or null when it can (or the channel has no window). */
export async function windowClosed(prisma: Db, conversationId: string, windowMs: number | null): Promise<string | null> {
  return windowMs === null ? null : closedSince(await lastInboundAt(prisma, conversationId), windowMs);
}

/** windowClosed, given when the user last wrote (a delivery reads it with the rest: DeliveryHead.lastInboundAt). */
export function closedSince(last: Date | null, windowMs: number | null): string | null {
  if (windowMs === null) return null;
  if (last && Date.now() - last.getTime() < windowMs) return null;
  const hours = Math.round(windowMs / 3_600_000);
  const since = last ? `the user last wrote at ${last.toISOString()}` : "the user has not written";
  return `Outside the ${hours}-hour window: ${since}, and after ${hours} hours only approved templates can be sent on this channel`;
}

/** Refuses, before anything is stored, a free-form message that could not be delivered now. */
export async function checkWindow(prisma: Db, conversationId: string, windowMs: number | null): Promise<void> {
  const closed = await windowClosed(prisma, conversationId, windowMs);
  if (closed) throw new HubError(422, "outside_window", `${closed}. Nothing was sent.`);
}

/**
 * A reply whose window closed (found before sending, or the provider refused it so): the sender's
 * re-engagement template is stored to go first and the reply held (AWAITING_WINDOW), or, with no template,
 * the reply is recorded undelivered with the reason. One transaction, conditional on the reply still being
 * unsent: a retried job changes nothing twice. A conversation with a reply held already gets no second
 * template: the user has one invitation to answer.
 */
export async function holdOutsideWindow(
  prisma: Db,
  reply: Pick<Message, "id" | "conversationId">,
  sender: ChannelSender,
  address: ReplyAddress,
  reason: string,
): Promise<void> {
  const template = await sender.reengagement?.(address);
  await prisma.$transaction(async (tx) => {
    if (!template) {
      await tx.message.updateMany({
        where: { id: reply.id, status: UNSENT },
        data: { status: "undelivered", error: `outside_window: ${reason}; no re-engagement template is configured for ${address.from}` },
      });
      return;
    }
    const invited = await tx.message.count({ where: { conversationId: reply.conversationId, status: AWAITING_WINDOW } });
    const { count } = await tx.message.updateMany({
      where: { id: reply.id, status: UNSENT },
      data: { status: AWAITING_WINDOW, error: `outside_window: ${reason}; held until the user writes again` },
    });
    if (!count || invited) return;
    await tx.message.create({
      data: {
        conversationId: reply.conversationId,
        role: "assistant",
        content: `[template ${template.contentSid}]`,
        status: UNSENT,
        metadata: { template: { ...template }, reengagement: true },
        replyAddress: { ...address },
      },
    });
  });
}

/**
 * The provider took a part, then reported it refused for the window (Twilio: 63016 in a status callback):
 * the part is made unsent again (its provider id dropped, so the reply sends it when released) and the reply
 * is held or recorded undelivered as if the send had been refused. Only the callback of the part's current
 * send does this: a repeated callback finds no part with that provider id and changes nothing (returns false).
 * Nor does one that comes before the send's answer was recorded (the part has no provider id yet): rare, and
 * the reply then keeps the status the send's answer gave it.
 * Should the process die between the two steps, the reply is unsent and the deliver worker finds its window
 * closed (or is refused again): the same outcome.
 */
export async function refusedAfterSending(
  db: { prisma: Db; sql: Sql; deliveries: DeliveryStatements },
  channels: ChannelRegistry,
  providerId: string,
  error: string,
): Promise<boolean> {
  const [reopened] = await db.sql<{ id: string }>(
    `WITH part AS (
       UPDATE outbound_parts SET provider_id = NULL, status = 'pending', error = $2, attempted_at = NULL
       WHERE provider_id = $1 RETURNING message_id)
     UPDATE messages m SET status = '${UNSENT}', error = NULL FROM part WHERE m.id = part.message_id RETURNING m.id::text`,
    [providerId, error],
  );
  if (!reopened) return false;
  const reply = await db.deliveries.head(reopened.id);
  const address = reply?.replyAddress;
  const sender = address && channels.senderFor(address.via);
  if (!reply || !address || !sender) return true;
  await holdOutsideWindow(db.prisma, reply, sender, address, error);
  // The template goes now (or the conversation's next reply); lost here, the outbox sends it.
  const next = await db.deliveries.firstUnsent(reply.conversationId);
  if (next) await channels.deliver({ id: next, status: UNSENT }).catch(() => {});
  return true;
}
