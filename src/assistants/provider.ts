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

/** Produces a reply, calling onDelta with each piece of text as it is generated. */
export interface AssistantProvider {
  readonly name: string;
  reply(request: AssistantRequest, onDelta: (text: string) => void): Promise<AssistantReply>;
}

/** The provider failed in a way retrying now will not fix: the turn ends with a fallback reply. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}
