import type { AssistantProfile, Role } from "../types";

/** A passage of a knowledge document retrieved for a turn. */
export interface Passage {
  documentId: string;
  documentTitle: string;
  content: string;
  rank: number;
}

export interface AssistantRequest {
  assistant: AssistantProfile;
  /** Earlier messages of the conversation, oldest first (system messages included as context). */
  history: { role: Role; content: string }[];
  message: string;
  passages: Passage[];
  signal?: AbortSignal;
}

export interface AssistantReply {
  content: string;
  tokensUsed: number;
  /** Titles of the documents the reply drew on. */
  sources: string[];
}

/**
 * Produces a reply, calling onDelta with each piece of text as it is generated; without onDelta nobody watches
 * the reply being written, and only the whole reply matters.
 */
export interface AssistantProvider {
  readonly name: string;
  reply(request: AssistantRequest, onDelta?: (text: string) => void): Promise<AssistantReply>;
}

/**
 * The provider failed in a way retrying now will not fix: the turn ends with a fallback reply. Unreachable:
 * it could not be reached or was failing (network, timeout, 5xx, 429 after its own retries), so it may answer
 * later; otherwise it refused the request (400, 401, 404 of the model) and will refuse it again.
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly unreachable = false,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}
