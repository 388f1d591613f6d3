import { setImmediate as nextTick } from "node:timers/promises";
import { type AssistantProvider, type AssistantReply, type AssistantRequest, citationsOf, type Passage } from "./provider";

/** A second passage joins the answer only when it ranks at least this close to the best one. */
const CLOSE_RANK = 0.75;
const WORDS_PER_DELTA = 3;

/**
 * The built-in assistant: answers with the best matching knowledge passages and names their documents.
 * No model and no network, so the hub answers out of the box, offline.
 */
export function createKnowledgeProvider(): AssistantProvider {
  return {
    name: "knowledge",
    async reply(request, onDelta) {
      const used = chosenPassages(request.passages);
      const sources = [...new Set(used.map((p) => p.documentTitle))];
      const content = used.length
        ? `${used.map((p) => p.content).join("\n\n")}\n\nSources: ${sources.join(", ")}`
        : `Nothing in ${request.assistant.name}'s knowledge base covers that question yet. ` +
          "Try rephrasing it with other words, or ask about something else.";
      // Written out a few words at a time only for someone watching: otherwise it would only delay the reply.
      if (onDelta) await stream(content, onDelta, request.signal);
      const citations = citationsOf(used);
      return {
        content,
        tokensUsed: estimateTokens(request, content),
        sources,
        citations,
        noKnowledge: used.length === 0,
      } satisfies AssistantReply;
    },
  };
}

/** The top passage, and the runner-up if it ranks close to it. */
function chosenPassages(passages: Passage[]): Passage[] {
  const [best, next] = [...passages].sort((a, b) => b.rank - a.rank);
  if (!best) return [];
  return next && next.rank >= best.rank * CLOSE_RANK && next.content !== best.content ? [best, next] : [best];
}

/** Sends the reply a few words at a time, as a model would, so channels show it arriving. */
async function stream(content: string, onDelta: (text: string) => void, signal?: AbortSignal): Promise<void> {
  const tokens = content.match(/\S+\s*|\s+/g) ?? [];
  for (let i = 0; i < tokens.length; i += WORDS_PER_DELTA) {
    signal?.throwIfAborted();
    onDelta(tokens.slice(i, i + WORDS_PER_DELTA).join(""));
    await nextTick();
  }
  signal?.throwIfAborted();
}

/**
 * An estimate, not a count: no tokenizer runs here, so this is about four characters a token over
 * everything the reply was made from (instructions, history, message, passages) plus the reply itself.
 */
function estimateTokens(request: AssistantRequest, reply: string): number {
  const prompt = [
    request.assistant.instructions,
    ...request.history.map((m) => m.content),
    request.message,
    ...request.passages.map((p) => p.content),
  ];
  const chars = prompt.reduce((sum, text) => sum + text.length, 0) + reply.length;
  return Math.ceil(chars / 4);
}
