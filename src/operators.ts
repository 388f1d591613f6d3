import type { ReplyBus } from "./bus";
import type { ChannelRegistry } from "./channels";
import { findConversation } from "./conversation-reads";
import type { Db } from "./db/database";
import { notFound } from "./errors";
import type { Conversation, Message } from "./generated/prisma/client";
import type { Logger } from "./logger";
import type { MessageAuthor } from "./types";
import { checkWindow } from "./window";

// What an operator (a person of the org, behind the assistant) does in a conversation: writes to the user
// through the conversation's own channel, and shows that they are writing. Issue #14.
//
// An operator's message is a business-side message: role `assistant`, so every history shows it as the business
// speaking and the assistant's next turn sees it in its history, with the operator in its metadata (`author`,
// see authorField). It answers no turn (no in_reply_to_id): no turn's reply is taken by it, and none is
// answered twice because of it.
//
// If the process dies after the message is stored and before it is sent: an API channel's (Twilio) is stored
// UNSENT and the outbox delivers it; a socket that reconnects reads it with the messages it missed. A client
// that sends the request again with the same Idempotency-Key gets the stored message, sent again (at most
// once per listener and channel, see ChannelRegistry.send), not a second one. With Redis away the message is
// stored and the send fails: the caller is told it was stored (on its way), not an error that would make a
// client without an Idempotency-Key write it again, and so send it twice.

/** The name an operator goes under when their client names none. */
export const DEFAULT_OPERATOR_NAME = "Operator";

export interface OperatorDeps {
  prisma: Db;
  channels: ChannelRegistry;
  bus: ReplyBus;
  logger: Logger;
}

export interface OperatorMessage {
  orgId: string;
  /** The conversation's id, or the id its channel knows (`whatsapp_+351…`), within the org. */
  conversationRef: string;
  content: string;
  author: MessageAuthor;
  /** The API key it came with, kept in the message's metadata: which of the org's clients sent it. */
  keyId?: string;
  /** The operator's client's key for this message: the same key again finds the message sent, not a new one. */
  idempotencyKey?: string;
}

/** Stores an operator's message and sends it through the conversation's channel. Throws HubError. */
export async function sendOperatorMessage(deps: OperatorDeps, m: OperatorMessage): Promise<{ message: Message; duplicate: boolean }> {
  const conversation = await conversationOf(deps.prisma, m.orgId, m.conversationRef);
  // Prefixed: a channel's own message ids (a visitor's client id) live in the same column.
  const externalId = m.idempotencyKey === undefined ? undefined : `operator:${m.idempotencyKey}`;
  const sentBefore = () =>
    externalId === undefined ? null : deps.prisma.message.findFirst({ where: { conversationId: conversation.id, externalId } });
  let message = await sentBefore();
  const duplicate = message !== null;
  if (!message) {
    const { replyAddress, status } = await deps.channels.outboundOf(conversation.id);
    await checkWindow(deps.prisma, conversation.id, deps.channels.freeFormWindowMs(replyAddress));
    try {
      [message] = await deps.prisma.$transaction([
        deps.prisma.message.create({
          data: {
            conversationId: conversation.id,
            externalId,
            role: "assistant",
            content: m.content,
            status,
            metadata: { author: { ...m.author }, ...(m.keyId ? { apiKeyId: m.keyId } : {}) },
            replyAddress: replyAddress ? { ...replyAddress } : undefined,
          },
        }),
        deps.prisma.conversation.update({ where: { id: conversation.id }, data: { lastActivityAt: new Date() } }),
      ]);
    } catch (err) {
      // The same key sent twice at once: the other request stored it.
      const stored = (err as { code?: string }).code === "P2002" ? await sentBefore() : null;
      if (!stored) throw err;
      message = stored;
    }
  }
  const stored = message;
  await deps.channels
    .send(stored, conversation.orgId)
    .catch((err) => deps.logger.warn({ message: stored.id, err: err.message }, "operator message stored, its send left to the outbox"));
  return { message: stored, duplicate };
}

/** Shows the conversation's listeners (the user's widget, the org's operators) that an operator is writing. */
export async function operatorTyping(
  deps: OperatorDeps,
  t: { orgId: string; conversationRef: string; author: MessageAuthor },
): Promise<{ conversationId: string }> {
  const conversation = await conversationOf(deps.prisma, t.orgId, t.conversationRef);
  await deps.bus.publish({ type: "operator_typing", orgId: conversation.orgId, conversationId: conversation.id, author: t.author });
  return { conversationId: conversation.id };
}

/** The org's conversation; another org's is not found, as one that does not exist. */
async function conversationOf(prisma: Db, orgId: string, ref: string): Promise<Conversation> {
  const found = await findConversation(prisma, orgId, ref);
  if (!found) throw notFound("Conversation");
  return found;
}
