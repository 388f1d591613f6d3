import { setTimeout as sleep } from "node:timers/promises";
import { createParser } from "eventsource-parser";
import { type AssistantProvider, type AssistantReply, type AssistantRequest, citationsOf, type Passage, ProviderError } from "./provider";

export interface OpenAIProviderOptions {
  /** Up to and including the version, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`. */
  baseUrl: string;
  apiKey?: string;
  model: string;
  stream: boolean;
  /** How long a streamed attempt may wait for the server: for the answer, and then between two stream chunks. */
  timeoutMs: number;
  /** How long an unstreamed attempt may take for the whole answer (a long one from a slow model); else timeoutMs. */
  answerTimeoutMs?: number;
  maxRetries: number;
  retryBaseMs?: number;
  logger?: { warn(obj: object, msg: string): void };
}

// However long Retry-After asks for, a user is waiting for this turn: wait no longer than this between attempts.
const RETRY_AFTER_CAP_MS = 30_000;
// Rate limits, timeouts, conflicts and server faults pass; anything else 4xx is our request's fault and will not.
const RETRYABLE = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

/**
 * A failure of one attempt; `retry` says whether another attempt may help now, `unreachable` whether the
 * server was away or failing (it may answer later) rather than refusing the request.
 */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
    readonly unreachable = retry,
  ) {
    super(message);
  }
}

/** Any OpenAI-compatible Chat Completions server: OpenAI, Azure, vLLM, Ollama, llama.cpp. */
export function createOpenAIProvider(opts: OpenAIProviderOptions): AssistantProvider {
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const retryBaseMs = opts.retryBaseMs ?? 500;

  return {
    name: "openai",
    async reply(request, onDelta) {
      const messages = buildMessages(request);
      // Streamed only for someone who watches the reply being written: a whole answer is one read, where a
      // stream of it is dozens of chunks, each a pass through fetch's streams (the hub's CPU a turn with a real
      // model). Unstreamed, the time limit is for the whole answer.
      const stream = opts.stream && onDelta !== undefined;
      const body = JSON.stringify({
        model: request.assistant.model ?? opts.model,
        messages,
        stream,
        ...(stream ? { stream_options: { include_usage: true } } : {}),
        ...(request.offerHandoff ? { tools: [HANDOFF_TOOL] } : {}),
      });
      const sources = [...new Set(request.passages.map((p) => p.documentTitle))];
      const citations = citationsOf(request.passages);
      for (let attempt = 0; ; attempt++) {
        try {
          const { content, tokens, toolCalls } = await attemptOnce(url, body, stream, opts, request.signal, onDelta);
          const promptChars = messages.reduce((sum, m) => sum + m.content.length, 0);
          // Servers that ignore stream_options send no usage; an estimate (~4 chars a token) beats zero.
          const tokensUsed = tokens ?? Math.ceil((promptChars + content.length) / 4);
          const handoff = request.offerHandoff ? handoffOf(toolCalls) : undefined;
          return { content, tokensUsed, sources, citations, ...(handoff ? { handoff } : {}) } satisfies AssistantReply;
        } catch (err) {
          if (request.signal?.aborted) throw new ProviderError("the assistant request was cancelled");
          if (!(err instanceof AttemptError)) throw err;
          if (!err.retry) throw new ProviderError(err.message, err.status, err.unreachable);
          if (attempt >= opts.maxRetries) {
            throw new ProviderError(`${err.message} (gave up after ${attempt + 1} attempts)`, err.status, true);
          }
          const backoff = retryBaseMs * 2 ** attempt * (0.5 + Math.random() / 2);
          const delayMs = Math.min(err.retryAfterMs ?? backoff, RETRY_AFTER_CAP_MS);
          opts.logger?.warn({ attempt: attempt + 1, status: err.status, delayMs: Math.round(delayMs) }, `${err.message}; retrying`);
          await sleep(delayMs, undefined, { signal: request.signal }).catch(() => {
            throw new ProviderError("the assistant request was cancelled");
          });
        }
      }
    },
  };
}

/** A tool call as the model sent it: the function's name and its arguments (JSON text, joined from a stream's pieces). */
interface ToolCall {
  name: string;
  arguments: string;
}

type Answer = { content: string; tokens?: number; toolCalls: ToolCall[] };

// Offered to the model on every turn: it may hand the conversation to a person instead of answering.
const HANDOFF_TOOL = {
  type: "function",
  function: {
    name: "handoff",
    description:
      "Hand the conversation to a person on the team, when the user asks for one or you cannot help them. The user is told a person will answer.",
    parameters: {
      type: "object",
      properties: { reason: { type: "string", description: "Why a person should take over, in a few words, for the team" } },
      required: ["reason"],
    },
  },
};

/** The model's call of the handoff tool, with its reason (arguments that are not JSON still hand off). */
function handoffOf(calls: ToolCall[]): { reason: string } | undefined {
  const call = calls.find((c) => c?.name === "handoff");
  if (!call) return undefined;
  let reason: unknown;
  try {
    reason = JSON.parse(call.arguments || "{}").reason;
  } catch {
    // a model's broken JSON: the handoff stands, without its reason
  }
  return { reason: typeof reason === "string" && reason.trim() ? reason.trim().slice(0, 500) : "the assistant asked for a person" };
}

/** One POST and its answer. The timer restarts on every chunk, so a long stream is fine but a silent server is not. */
async function attemptOnce(
  url: string,
  body: string,
  stream: boolean,
  opts: OpenAIProviderOptions,
  signal: AbortSignal | undefined,
  onDelta: ((text: string) => void) | undefined,
): Promise<Answer> {
  // Unstreamed, the server is silent until the whole answer is written: it gets the longer limit.
  const limitMs = stream ? opts.timeoutMs : (opts.answerTimeoutMs ?? opts.timeoutMs);
  const timeout = new AbortController();
  let timer = setTimeout(() => timeout.abort(), limitMs);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => timeout.abort(), limitMs);
  };
  const combined = signal ? AbortSignal.any([timeout.signal, signal]) : timeout.signal;
  const failure = (err: unknown, retry: boolean) =>
    timeout.signal.aborted
      ? new AttemptError(`the OpenAI-compatible server at ${url} did not answer within ${limitMs}ms`, retry)
      : new AttemptError(`the request to the OpenAI-compatible server at ${url} failed: ${causeOf(err)}`, retry);
  try {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
    };
    if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
    const response = await fetch(url, { method: "POST", headers, body, signal: combined }).catch((err) =>
      Promise.reject(failure(err, true)),
    );
    touch();
    if (!response.ok) throw await statusError(url, response);
    if (!stream) {
      const json = (await response.json().catch((err) => Promise.reject(failure(err, true)))) as any;
      const message = json?.choices?.[0]?.message;
      const toolCalls: ToolCall[] = (Array.isArray(message?.tool_calls) ? message.tool_calls : []).map((c: any) => ({
        name: String(c?.function?.name ?? ""),
        arguments: String(c?.function?.arguments ?? ""),
      }));
      // A message that only calls a tool has no content.
      const content = message?.content ?? (toolCalls.length ? "" : undefined);
      if (typeof content !== "string") throw new AttemptError(`the server at ${url} answered without a message`, false);
      if (content) onDelta?.(content);
      return { content, tokens: json.usage?.total_tokens, toolCalls };
    }
    let delivered = false;
    try {
      return await readStream(response, touch, (text) => {
        delivered = true;
        onDelta?.(text);
      });
    } catch (err) {
      if (err instanceof AttemptError) throw err;
      // Text already went out to the user: a second attempt would repeat it, so this turn fails instead.
      const broken = failure(err, !delivered);
      throw delivered ? new AttemptError(`the reply stream broke off: ${broken.message}`, false, undefined, undefined, true) : broken;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the Server-Sent Events of a streamed completion (`data: {...}` events, ending with `data: [DONE]`). */
async function readStream(response: Response, touch: () => void, onDelta: (text: string) => void): Promise<Answer> {
  if (!response.body) throw new Error("the answer has no body");
  const decoder = new TextDecoder();
  // eventsource-parser handles the format's details (CRLF, events split across chunks, multi-line data, comments).
  const events: string[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event.data) });
  let content = "";
  let tokens: number | undefined;
  let finished = false;
  // A streamed tool call comes in pieces, by index: the name first, then its arguments a bit at a time.
  const toolCalls: ToolCall[] = [];
  /** Takes in the events parsed so far; true once [DONE] came. */
  const take = (): boolean => {
    for (const data of events.splice(0)) {
      if (data.trim() === "[DONE]") return true;
      const event = JSON.parse(data);
      if (event.error) throw new AttemptError(`the server sent an error mid-stream: ${event.error.message ?? data}`, false);
      const choice = event.choices?.[0];
      if (typeof choice?.delta?.content === "string" && choice.delta.content !== "") {
        content += choice.delta.content;
        onDelta(choice.delta.content);
      }
      for (const piece of Array.isArray(choice?.delta?.tool_calls) ? choice.delta.tool_calls : []) {
        const index = Number(piece.index) || 0;
        const call = toolCalls[index] ?? { name: "", arguments: "" };
        call.name += piece.function?.name ?? "";
        call.arguments += piece.function?.arguments ?? "";
        toolCalls[index] = call;
      }
      if (choice?.finish_reason) finished = true;
      if (event.usage?.total_tokens !== undefined) tokens = event.usage.total_tokens;
    }
    return false;
  };
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    touch();
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (take()) return { content, tokens, toolCalls };
  }
  // A server that closes without the blank line after its last event: that event still counts (a blank line
  // ends it; after a complete event it dispatches nothing).
  parser.feed(`${decoder.decode()}\n\n`);
  if (take()) return { content, tokens, toolCalls };
  // Some servers close without [DONE]; a finish_reason still marks the reply complete.
  if (!finished) throw new Error("the stream ended before the reply was finished");
  return { content, tokens, toolCalls };
}

async function statusError(url: string, response: Response): Promise<AttemptError> {
  const text = await response.text().catch(() => "");
  let detail = text.slice(0, 300);
  try {
    detail = JSON.parse(text).error?.message ?? detail;
  } catch {
    // not JSON: keep the text as it came
  }
  const status = response.status;
  const what = `the OpenAI-compatible server at ${url} answered ${status} ${response.statusText}`.trim();
  return new AttemptError(
    detail ? `${what}: ${detail}` : what,
    RETRYABLE(status),
    status,
    retryAfterMs(response.headers.get("retry-after")),
  );
}

/** fetch reports a refused connection as "fetch failed"; the cause says which. */
function causeOf(err: unknown): string {
  const { message, cause } = err as Error & { cause?: Error };
  return cause?.message ? `${message} (${cause.message})` : message;
}

/** `Retry-After` as seconds or as an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

function buildMessages(request: AssistantRequest): { role: string; content: string | UserPart[] }[] {
  const { assistant, passages } = request;
  let system = `You are ${assistant.name}${assistant.description ? `, ${assistant.description}` : ""}.`;
  if (assistant.instructions) system += `\n\n${assistant.instructions}`;
  if (passages.length) {
    const listed = passages.map((p, i) => `[${i + 1}] From ${whereFrom(p)}:\n${p.content}`).join("\n\n");
    system +=
      "\n\n## Knowledge\nAnswer from the passages below. If they do not cover the question, say so plainly instead of guessing." +
      `\n\n${listed}`;
  } else {
    // Said outright: a model told nothing tends to answer from what it believes it knows about the business.
    system +=
      "\n\n## Knowledge\nNo matching knowledge was found for this question in the knowledge base. Do not guess facts " +
      "about the business (prices, hours, policies): say you do not have that information.";
  }
  return [
    { role: "system", content: system },
    ...request.history.map((m) => ({ role: m.role, content: m.content })),
    { role: "user", content: userContent(request) },
  ];
}

type UserPart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };

/** The user's message: its text, and its images as data URLs for a model that reads them (issue #16). */
function userContent(request: AssistantRequest): string | UserPart[] {
  if (!request.images?.length) return request.message;
  return [
    { type: "text", text: request.message },
    ...request.images.map((i) => ({
      type: "image_url" as const,
      image_url: { url: `data:${i.contentType};base64,${i.data.toString("base64")}` },
    })),
  ];
}

/** A passage's document, and its section, page and address where known. */
function whereFrom(p: Passage): string {
  let where = `"${p.documentTitle}"`;
  if (p.heading) where += `, section "${p.heading}"`;
  if (p.page !== null) where += `, page ${p.page}`;
  if (p.sourceUrl) where += ` (${p.sourceUrl})`;
  return where;
}
