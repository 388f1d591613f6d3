import type { Server } from "node:http";
import type { Queue } from "bullmq";
import type { Router } from "express";
import { Batcher } from "./batch";
import type { ReplyBus } from "./bus";
import { toWire } from "./conversations";
import type { Db } from "./db/database";
import type { Message, OutboundPart } from "./generated/prisma/client";
import type { Operation } from "./http/openapi";
import { UNSENT } from "./outbound";
import { type DeliverJob, enqueueDeliveries } from "./queue";
import type { ReplyAddress } from "./types";

// The one contract every channel implements, and the registry that sends a conversation's business-side
// messages (assistant replies, and whatever else the business writes to the user) out through its channel.
//
// Push channels (a socket, an SSE stream, a waiting REST request) have no sender: their listeners get a
// conversation's messages over the reply bus, on whichever gateway holds the connection. A channel that sends
// through a provider's API (Twilio) has a sender, and its messages are stored UNSENT and delivered by
// workers/deliver.ts, which looks the sender up here by the message's reply address.

/** What an adapter's `createXChannel(deps)` returns: what the composition root (src/main.ts) plugs in. */
export interface Channel {
  /** For logs and errors: `twilio`, `ws`, `ask`. */
  name: string;
  /** Its HTTP routes: inbound webhooks and APIs, and its own settings' routes. */
  routers: Router[];
  /** Its routes and sockets in the OpenAPI document (a channel not configured serves and shows none). */
  operations?: Operation[];
  /** Serves its socket protocol on the gateway's HTTP server; close() before the server closes. */
  attach?(server: Server): { close(): Promise<void> };
  /** Sends through a provider's API the messages whose reply address names its `via`. */
  sender?: ChannelSender;
}

/** What a channel that sends through a provider's API plugs into the deliver worker. */
export interface ChannelSender {
  /** The reply addresses it delivers to: a message's `replyAddress.via`. */
  via: ReplyAddress["via"];
  /**
   * The parts a message to `address` is sent as, in order: written in the markup of where it goes (the
   * assistant writes Markdown) and cut to the provider's length.
   */
  split(content: string, address: ReplyAddress): string[];
  /**
   * How long after the user last wrote the provider still delivers a free-form message to `address` (WhatsApp:
   * 24 hours; after that only templates), or null when it always does.
   */
  freeFormWindowMs?(address: ReplyAddress): number | null;
  /**
   * The approved template sent in place of a message that would fall outside that window, inviting the user to
   * write again (src/window.ts); null when the business configured none for where `address` comes from.
   */
  reengagement?(address: ReplyAddress): Promise<Template | null>;
  /**
   * Downloads a user's media that came with a message from `address`'s channel (its URLs need the account's
   * credentials); throws MediaTooLarge over `maxBytes`.
   */
  fetchMedia?(url: string, maxBytes: number): Promise<{ contentType: string; data: Buffer }>;
  /** How many messages a second the provider takes from where `address` comes from (see src/pace.ts). */
  sendsPerSecond?(address: ReplyAddress): number;
  /**
   * Sends one part to `address`, or the template instead of its body; resolves once the provider accepted it.
   * Throws DeliveryError.
   */
  send(part: OutboundPart, address: ReplyAddress, template?: Template): Promise<{ providerId: string; status: string }>;
}

/** A provider's pre-approved message (Twilio's ContentSid and its variables), which goes out at any time. */
export interface Template {
  contentSid: string;
  variables?: Record<string, string>;
}

/** The template a stored message is sent as (its metadata's `template`), or undefined for a free-form one. */
export function templateOf(message: Pick<Message, "metadata">): Template | undefined {
  const template = (message.metadata as { template?: Template } | null)?.template;
  return typeof template?.contentSid === "string" ? template : undefined;
}

/** What sends a message from this process, without a job (workers/deliver.ts: DirectDeliveries); false: give it a job. */
interface DirectSender {
  start(messageId: string): boolean;
}

/**
 * The channels of this hub, by what they answer to. To send a business-side message that answers no turn (an
 * operator's): store it with the fields `outboundOf(conversationId)` gives, then call `send(message, orgId)`.
 */
export class ChannelRegistry {
  private readonly senders = new Map<string, ChannelSender>();
  private readonly deliveries: Batcher<string, undefined>;
  private direct: DirectSender | null = null;

  constructor(private readonly deps: { prisma: Db; bus: ReplyBus; deliverQueue: Queue<DeliverJob> }) {
    this.deliveries = new Batcher((ids: string[]) => enqueueDeliveries(deps.deliverQueue, ids));
  }

  /**
   * Where this process sends UNSENT messages itself rather than through a deliver job (workers/deliver.ts:
   * DirectDeliveries): a process that runs the deliver worker.
   */
  sendHere(direct: DirectSender): void {
    this.direct = direct;
  }

  /** Plugs channels in; two senders of one `via` would each deliver half of the messages, so that is refused. */
  register(channels: Channel[]): void {
    for (const { name, sender } of channels) {
      if (!sender) continue;
      if (this.senders.has(sender.via)) throw new Error(`channel ${name}: another channel already sends through ${sender.via}`);
      this.senders.set(sender.via, sender);
    }
  }

  /** Reply addresses (`via`) this hub sends through an API: a business-side message to one is stored UNSENT. */
  get deliveredVia(): string[] {
    return [...this.senders.keys()];
  }

  senderFor(via: string): ChannelSender | null {
    return this.senders.get(via) ?? null;
  }

  /** See ChannelSender.freeFormWindowMs: null for a push channel's message (address null) and for no limit. */
  freeFormWindowMs(address: ReplyAddress | null): number | null {
    return (address && this.senders.get(address.via)?.freeFormWindowMs?.(address)) ?? null;
  }

  /**
   * The status a new business-side message to `address` (see addressOf) is stored with: UNSENT when a sender
   * of this hub delivers it (then hand it to deliver() once stored), else `sent`: a push channel's listeners
   * have it from the reply bus.
   */
  statusFor(address: ReplyAddress | null): string {
    return address && this.senders.has(address.via) ? UNSENT : "sent";
  }

  /**
   * What a new business-side message of the conversation is stored with: where it goes (the conversation's
   * reply address, kept on the message, see addressOf) and its status (statusFor).
   */
  async outboundOf(conversationId: string): Promise<{ replyAddress: ReplyAddress | null; status: string }> {
    const replyAddress = await addressOf(this.deps.prisma, { conversationId, inReplyToId: null, followUpOfId: null });
    return { replyAddress, status: this.statusFor(replyAddress) };
  }

  /**
   * Sends a stored business-side message that answers no turn through its conversation's channel: push
   * channels' listeners (sockets on any gateway) get it over the reply bus, an API channel's user through its
   * sender (deliver). Safe to call again: listeners show a message id once, and a part is sent once. With Redis
   * away it throws (the event not published) and loses nothing stored: the outbox check gives the message its
   * job, and a socket that resumes reads the messages it missed. `orgId`: the
   * conversation's org, whose operators' sockets get the message too.
   */
  async send(message: Message, orgId: string): Promise<void> {
    await this.deps.bus.publish({ type: "outbound", orgId, conversationId: message.conversationId, message: toWire(message) });
    await this.deliver(message);
  }

  /**
   * Hands a stored business-side message to its channel's sender: an UNSENT message is sent from here when
   * this process delivers (sendHere; it does not wait for the send), else gets a deliver job (many at once in
   * one round trip); any other is left alone, so calling this again, or for a push channel's message, is
   * harmless. A send or job lost here (a crash, Redis away) is given its job by the outbox check from Postgres.
   */
  async deliver(message: Pick<Message, "id" | "status">): Promise<void> {
    if (message.status === UNSENT && !this.direct?.start(message.id)) await this.deliveries.submit(message.id);
  }
}

/**
 * Where a business-side message goes: its own address when it was stored with one (taken from addressOf
 * then, so it keeps going where it was meant to), else the reply address of the message it answers (or
 * follows up), else the conversation's: that of its latest message that came with one. Only adapters set
 * reply addresses, from what they verified (a signed webhook), so this never follows a caller's fields.
 * Null: a push channel's.
 */
export async function addressOf(
  prisma: Db,
  message: Pick<Message, "conversationId" | "inReplyToId" | "followUpOfId"> & Partial<Pick<Message, "replyAddress">>,
): Promise<ReplyAddress | null> {
  if (message.replyAddress) return message.replyAddress as unknown as ReplyAddress;
  const answered = message.inReplyToId ?? message.followUpOfId;
  const source = answered
    ? await prisma.message.findUnique({ where: { id: answered }, select: { replyAddress: true } })
    : (
        await prisma.$queryRaw<{ replyAddress: unknown }[]>`
          SELECT reply_address AS "replyAddress" FROM messages
          WHERE conversation_id = ${message.conversationId}::uuid AND reply_address IS NOT NULL
          ORDER BY seq DESC LIMIT 1`
      )[0];
  return (source?.replyAddress as ReplyAddress | null | undefined) ?? null;
}
