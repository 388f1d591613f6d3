import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The body a client posts to /v1/chat/completions, as far as the fake reads it. */
export interface ChatCompletionBody {
  model: string;
  messages: { role: string; content: string }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [key: string]: unknown;
}

export interface RecordedRequest {
  headers: IncomingHttpHeaders;
  body: ChatCompletionBody;
  /** Date.now() when the request arrived, and when its answer was fully sent (unset while pending or hung). */
  receivedAt: number;
  answeredAt?: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface FakeOpenAI {
  /** Base URL ending in /v1, as OPENAI_BASE_URL takes it. */
  url: string;
  /** Every chat completion request received, failed and hung ones included, in arrival order. */
  requests: RecordedRequest[];
  /** The next n requests answer with this status and an OpenAI-style error body. */
  failNext(n: number, status: number, headers?: Record<string, string>): void;
  /** Every request answers with this status (503: the model is down) until up(). */
  down(status?: number): void;
  up(): void;
  /** The next n requests never answer (until close). */
  hangNext(n: number): void;
  /** The next n streamed requests send their first delta, then the connection drops. */
  breakNext(n: number): void;
  setReply(fn: (body: ChatCompletionBody) => string): void;
  /** Answers with a call of this tool instead of text when fn returns one (null: a text reply). */
  setToolCall(fn: ((body: ChatCompletionBody) => ToolCall | null) | null): void;
  /** Usage reported with each reply; null reports none, like servers that ignore stream_options. */
  setUsage(usage: Usage | null): void;
  /** Waits this long before answering each request, like a slow model. */
  setDelay(ms: number): void;
  /** Streamed replies wait this long between pieces, as a model writing a few words a second does. */
  setPieceDelay(ms: number): void;
  /** Audio transcription requests (POST /v1/audio/transcriptions): the model and file each named. */
  transcriptions: { model: string; fileType: string; fileSize: number; authorization?: string }[];
  /** What each transcription answers (default `Transcript of <n> bytes`). */
  setTranscript(text: string): void;
  /** The next n transcriptions answer 500. */
  failTranscriptions(n: number): void;
  /** The next n transcriptions never answer (until close). */
  hangTranscriptions(n: number): void;
  close(): Promise<void>;
}

/** A function call the fake model makes; `arguments` is JSON text, as models send it. */
export interface ToolCall {
  name: string;
  arguments: string;
}

type Plan = { kind: "fail"; status: number; headers: Record<string, string> } | { kind: "hang" } | { kind: "break" };

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  404: "not_found_error",
  429: "rate_limit_exceeded",
};

/** A real HTTP server speaking the Chat Completions API, answering `Echo: <last user message>` by default. */
/** `port`: a fixed one, for a server that comes back where it was (the hub's base URL set before it listens). */
export async function startFakeOpenAI(options: { apiKey?: string; port?: number } = {}): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const plans: Plan[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let reply = (body: ChatCompletionBody) => `Echo: ${[...body.messages].reverse().find((m) => m.role === "user")?.content ?? ""}`;
  let usage: Usage | null = { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 };
  let delayMs = 0;
  let pieceDelayMs = 0;
  let outage: number | null = null;
  let toolCall: ((body: ChatCompletionBody) => ToolCall | null) | null = null;

  const transcriptions: FakeOpenAI["transcriptions"] = [];
  let transcript: string | null = null;
  let transcriptionFailures = 0;
  let transcriptionHangs = 0;

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString();
    if (req.method === "POST" && req.url === "/v1/audio/transcriptions") {
      // The multipart form read as a fetch Request reads it.
      const form = await new Request("http://fake/", {
        method: "POST",
        headers: req.headers as HeadersInit,
        body: Buffer.concat(chunks),
      }).formData();
      const file = form.get("file") as File | null;
      transcriptions.push({
        model: String(form.get("model")),
        fileType: file?.type ?? "",
        fileSize: file?.size ?? 0,
        authorization: req.headers.authorization,
      });
      if (transcriptionHangs > 0) {
        transcriptionHangs--;
        return;
      }
      if (transcriptionFailures > 0) {
        transcriptionFailures--;
        return sendError(res, 500, "Fake transcription failure");
      }
      if (!file) return sendError(res, 400, "file is required");
      return sendJson(res, 200, { text: transcript ?? `Transcript of ${file.size} bytes` });
    }
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      return sendError(res, 404, `Unknown request URL: ${req.method} ${req.url}`);
    }
    let body: ChatCompletionBody;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendError(res, 400, "We could not parse the JSON body of your request.");
    }
    const recorded: RecordedRequest = { headers: req.headers, body, receivedAt: Date.now() };
    requests.push(recorded);
    res.on("finish", () => {
      recorded.answeredAt = Date.now();
    });
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, 401, "Incorrect API key provided.");
    }
    if (outage) return sendError(res, outage, `Fake outage with status ${outage}`);
    const plan = plans.shift();
    if (plan?.kind === "hang") return;
    await wait(delayMs);
    if (plan?.kind === "fail") return sendError(res, plan.status, `Fake failure with status ${plan.status}`, plan.headers);
    const call = toolCall?.(body) ?? null;
    if (call) return sendToolCall(res, body, call);
    const content = reply(body);
    if (!body.stream) {
      // A model takes as long to write an answer it does not stream: each piece's time, then the whole.
      await wait(pieceDelayMs * piecesOf(content).length);
      return sendJson(res, 200, {
        id: "chatcmpl-fake",
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        ...(usage ? { usage } : {}),
      });
    }
    await streamReply(res, body, content, plan?.kind === "break");
  });

  async function streamReply(res: ServerResponse, body: ChatCompletionBody, content: string, breakOff: boolean) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const chunk = (choices: object[], extra: object = {}) =>
      `data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", model: body.model, choices, ...extra })}\n\n`;
    res.write(chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]));
    const pieces = piecesOf(content);
    if (breakOff) {
      // Drop the connection once the first delta has left, as a crashing model server would.
      res.write(chunk([{ index: 0, delta: { content: pieces[0] ?? "" }, finish_reason: null }]), () => res.socket?.destroy());
      return;
    }
    for (const piece of pieces) {
      res.write(chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]));
      if (pieceDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, pieceDelayMs));
    }
    res.write(chunk([{ index: 0, delta: {}, finish_reason: "stop" }]));
    // As OpenAI does: usage comes last, in a chunk with no choices, only when asked for.
    if (usage && body.stream_options?.include_usage) res.write(chunk([], { usage }));
    res.end("data: [DONE]\n\n");
  }

  /** Waits, unless the server is closed first. */
  function wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  function sendToolCall(res: ServerResponse, body: ChatCompletionBody, call: ToolCall) {
    const first = { id: "call_fake", type: "function", function: { name: call.name, arguments: "" } };
    if (!body.stream) {
      return sendJson(res, 200, {
        id: "chatcmpl-fake",
        object: "chat.completion",
        model: body.model,
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: null,
              tool_calls: [{ ...first, function: { ...first.function, arguments: call.arguments } }],
            },
            finish_reason: "tool_calls",
          },
        ],
        ...(usage ? { usage } : {}),
      });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    // As OpenAI streams a call: the name first, then the arguments in pieces.
    res.write(chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, ...first }] }));
    const half = Math.ceil(call.arguments.length / 2);
    for (const piece of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
    }
    res.write(chunk({}, "tool_calls"));
    res.end("data: [DONE]\n\n");
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const repeat = (n: number, plan: Plan) => {
    for (let i = 0; i < n; i++) plans.push(plan);
  };

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    transcriptions,
    setTranscript: (text) => {
      transcript = text;
    },
    failTranscriptions: (n) => {
      transcriptionFailures = n;
    },
    hangTranscriptions: (n) => {
      transcriptionHangs = n;
    },
    failNext: (n, status, headers = {}) => repeat(n, { kind: "fail", status, headers }),
    down: (status = 503) => {
      outage = status;
    },
    up: () => {
      outage = null;
    },
    hangNext: (n) => repeat(n, { kind: "hang" }),
    breakNext: (n) => repeat(n, { kind: "break" }),
    setReply: (fn) => {
      reply = fn;
    },
    setToolCall: (fn) => {
      toolCall = fn;
    },
    setUsage: (next) => {
      usage = next;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    setPieceDelay: (ms) => {
      pieceDelayMs = ms;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      // Hung requests hold their connections open; drop them so close() does not wait forever.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Word by word with the spaces kept, so the deltas join back into the exact reply. */
const piecesOf = (content: string) => content.match(/\S+\s*|\s+/g) ?? [];

function sendJson(res: ServerResponse, status: number, payload: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(payload));
}

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "server_error" : "invalid_request_error");
  sendJson(res, status, { error: { message, type, param: null, code: null } }, headers);
}
