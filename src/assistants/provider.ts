import type { AssistantProfile, Citation, Role } from "../types";

/** A passage of a knowledge document retrieved for a turn. */
export interface Passage {
  documentId: string;
  documentTitle: string;
  content: string;
  /** Where it sits in its document: heading path, PDF page, HTML anchor (each null when unknown). */
  heading: string | null;
  page: number | null;
  anchor: string | null;
  /** The document's source (a web page's URL), if it has one. */
  sourceUrl: string | null;
  /** How well it answers the question: only comparable with the ranks of the same search. */
  rank: number;
}

/** The citation of each distinct place the passages come from, in their order. */
export function citationsOf(passages: Passage[]): Citation[] {
  const seen = new Map<string, Citation>();
  for (const p of passages) {
    const url = p.sourceUrl ? (p.anchor ? `${p.sourceUrl.replace(/#.*$/, "")}#${p.anchor}` : p.sourceUrl) : null;
    const citation = { documentId: p.documentId, title: p.documentTitle, heading: p.heading, page: p.page, url };
    const key = JSON.stringify(citation);
    if (!seen.has(key)) seen.set(key, citation);
  }
  return [...seen.values()];
}

export interface AssistantRequest {
  assistant: AssistantProfile;
  /** Earlier messages of the conversation, oldest first (system messages included as context). */
  history: { role: Role; content: string }[];
  message: string;
  /** The user's images, for an assistant whose model reads them (`vision`); providers that cannot ignore them. */
  images?: { contentType: string; data: Buffer }[];
  passages: Passage[];
  signal?: AbortSignal;
  /** The model may hand the conversation to a person (the OpenAI provider's `handoff` tool). */
  offerHandoff?: boolean;
}

export interface AssistantReply {
  content: string;
  tokensUsed: number;
  /** Titles of the documents the reply drew on. */
  sources: string[];
  /** The passages it drew on, with where each sits (unset: none). */
  citations?: Citation[];
  /** The assistant asks for a person to take over, and why (the turn's reply is then the handoff message). */
  handoff?: { reason: string };
  /** Set by a provider that answers only from knowledge: whether it found none relevant (src/handoff.ts counts these). */
  noKnowledge?: boolean;
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
