// The canonical shapes every channel maps onto: one inbound message, one turn, one stream of reply events.

export type Role = "user" | "assistant" | "system";

export interface Attachment {
  url: string;
  contentType?: string;
  name?: string;
  /** Bytes, once the hub downloaded it (a voice note: src/voice.ts). */
  size?: number;
  /** In a burst's turn (src/bursts.ts), never stored: the message and position its download is kept under. */
  from?: { messageId: string; position: number };
}

/** What an adapter hands to accept(): the channel's message, already parsed and authenticated. */
export interface InboundMessage {
  orgId: string;
  channel: string;
  /** The conversation id the channel knows: the ask API's `id`, `whatsapp_<phone>`, a widget session. */
  conversationKey: string;
  /** An assistant id or name within the org; or an inline preview assistant, never persisted. */
  assistant: { ref: string } | { preview: PreviewAssistant };
  /** The channel's own message id (Twilio MessageSid, client message.id): a retry with it is a no-op. */
  externalId?: string;
  role: Role;
  content: string;
  attachments?: Attachment[];
  metadata?: Record<string, unknown>;
  /** Limits the knowledge searched; unset means the assistant's folders (or the org's, see `fromPublic`). */
  folderIds?: string[];
  /**
   * The sender is a member of the public (a widget visitor, a WhatsApp/SMS user), not the org's own
   * integrator: when neither the message nor the assistant names folders, only the org's public folders are
   * read. Set by the adapter from who authenticated, never from the message.
   */
  fromPublic?: boolean;
  /**
   * A listener waits for the reply as it is written (a socket, an SSE response): the turn publishes `typing`
   * and `delta` events. Without it only the finished reply is published: nobody is waiting for the rest.
   */
  stream?: boolean;
  userId?: string;
  sessionId?: string;
  /** An end-user key for rate limiting; defaults to userId, then the conversation. */
  rateKey?: string;
  /**
   * Where the reply goes, for a channel that sends it through an API. Only an adapter sets it, and only from
   * what it verified (a signed webhook): a reply never goes where a caller's fields (`metadata`) point.
   */
  replyAddress?: ReplyAddress;
}

/** The addressing of a reply sent through an API channel: from the number written to, to the one who wrote. */
export interface ReplyAddress {
  via: "twilio";
  from: string;
  to: string;
}

export interface PreviewAssistant {
  name: string;
  description?: string;
  instructions?: string;
  provider?: "knowledge" | "openai";
  model?: string;
}

/** The resolved assistant a turn runs with (a stored one, or a preview's). */
export interface AssistantProfile {
  id: string | null;
  name: string;
  description: string;
  instructions: string;
  provider: "knowledge" | "openai";
  model: string | null;
  folderIds: string[];
  suggestions: string[];
  /** Handoff to a person (src/handoff.ts): unset or empty phrases are the hub's; null message and limit, the hub's. */
  handoffPhrases?: string[];
  handoffMessage?: string | null;
  handoffAfterMisses?: number | null;
  /** Its model reads images: a user's photos are passed to it. */
  vision?: boolean;
}

/** A stored message as the hub's surfaces read it. */
export interface StoredMessage {
  id: string;
  conversationId: string;
  externalId: string | null;
  role: Role;
  content: string;
  status: string;
  inReplyToId: string | null;
  createdAt: Date;
  tokensUsed: number | null;
  processingMs: number | null;
  sources: string[];
  error: string | null;
}

/** Who holds a conversation: the assistant answers only in `bot` (issue #14's handoff). */
export type ConversationState = "bot" | "waiting" | "human";

/**
 * Who wrote a business-side message other than the assistant: an operator of the org (see src/operators.ts).
 * Kept in the message's metadata (`author`) and shown where an API's dialect has room for it.
 */
export interface MessageAuthor {
  kind: "operator";
  name: string;
}

/**
 * Events on the reply bus, keyed by conversation and carrying its org (operators' sockets listen to an org's
 * whole stream): a turn's (`turnId` is the user message being answered); `outbound`, a business-side message
 * that answers no turn (an operator's; see ChannelRegistry.send); `operator_typing`, an operator writing;
 * `state`, the conversation changed hands (published by the handoff).
 */
export type TurnEvent = { orgId: string; conversationId: string } & (
  | { type: "accepted"; turnId: string; message: WireMessage }
  | { type: "typing"; turnId: string }
  | { type: "delta"; turnId: string; content: string }
  | { type: "reply"; turnId: string; message: WireMessage; failed: boolean }
  /** No reply comes: a person has the conversation, and the turn was held (src/handoff.ts). */
  | { type: "held"; turnId: string }
  | { type: "outbound"; message: WireMessage }
  | { type: "operator_typing"; author: MessageAuthor }
  | {
      type: "state";
      state: ConversationState;
      /** The operator who has it (state `human`), else null. */
      assignee: string | null;
      /** Why a person was asked for (a user's phrase, the model, the API), when the handoff knows. */
      reason?: string;
      at: string;
    }
);

/** Where a reply's knowledge came from, precisely enough to follow: stored on the reply (messages.citations). */
export interface Citation {
  documentId: string;
  title: string;
  heading: string | null;
  page: number | null;
  /** The source page, at the passage's anchor when it has one; null for an uploaded file. */
  url: string | null;
}

/** A message as it travels on the bus (JSON: dates as ISO strings). */
export interface WireMessage {
  id: string;
  role: Role;
  content: string;
  createdAt: string;
  inReplyToId: string | null;
  tokensUsed: number | null;
  processingMs: number | null;
  sources: string[];
  /** Where the knowledge of an assistant reply came from (see Citation); [] for other messages. */
  citations: Citation[];
  suggestions?: string[];
  /** A business-side message an operator wrote (not the assistant). */
  author?: MessageAuthor;
}
