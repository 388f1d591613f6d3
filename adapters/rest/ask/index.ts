import { randomUUID } from "node:crypto";
import { type Request, type Response, Router } from "express";
import type { KeyRing } from "../../../src/auth/keys";
import type { OperatorSessions } from "../../../src/auth/operators";
import type { ReplyBus } from "../../../src/bus";
import type { Channel } from "../../../src/channels";
import { HELD, toWire } from "../../../src/conversations";
import { fieldIssues, HubError, invalid } from "../../../src/errors";
import type { Message } from "../../../src/generated/prisma/client";
import { caller, requireKeyOrOperator } from "../../../src/http/auth";
import { errorHandler, jsonBody } from "../../../src/http/body";
import { openEventStream, sendEvent } from "../../../src/http/sse";
import { accept, type HubDeps } from "../../../src/hub";
import type { WireMessage } from "../../../src/types";
import { awaitReply, type WaitResult } from "../../../src/wait";
import { renderAskError, UNAVAILABLE } from "./errors";
import { askRequest } from "./schema";

// POST /api/ai-hub/assistant/ask: the AI Hub document's ask, mapped onto the canonical message.
//   message.{id,role,content} -> externalId, role, content     id -> conversationKey
//   assistantId | previewAssistantData -> assistant             metadata (keys lower-cased), foldersId
// The reply comes back as one JSON body, or as SSE (`Accept: text/event-stream`): `delta` events, then
// `message` with the same body as the JSON reply.

export interface AskChannelDeps {
  hub: HubDeps;
  keys: KeyRing;
  /** The console's operators ask too: an admin previews an assistant's reply before saving it. */
  sessions: OperatorSessions;
  bus: ReplyBus;
  askTimeoutMs: number;
  /** Synchronous asks this gateway holds open at most; each holds a socket and a listener until its reply. */
  maxWaiting: number;
}

const TOO_MANY_WAITING = new HubError(
  503,
  "unavailable",
  "Too many requests are waiting for replies: nothing was stored; try again in a few seconds",
  { retryAfter: 2 },
);

export function createAskChannel(deps: AskChannelDeps): Channel {
  const router = Router();
  let open = 0;
  router.post("/api/ai-hub/assistant/ask", ...jsonBody("256kb"), requireKeyOrOperator(deps.keys, deps.sessions), (req, res, next) => {
    if (open >= deps.maxWaiting) return next(TOO_MANY_WAITING);
    open++;
    ask(deps, req, res)
      .catch(next)
      .finally(() => open--);
  });
  router.use(
    "/api/ai-hub",
    errorHandler(renderAskError, (err) => deps.hub.logger.error({ err }, "ask failed")),
  );
  return { name: "ask", routers: [router] };
}

async function ask(deps: AskChannelDeps, req: Request, res: Response) {
  const parsed = askRequest.safeParse(req.body ?? {});
  if (!parsed.success) throw invalid("Message parse problem from ask assistant", fieldIssues(parsed.error.issues));
  const body = parsed.data;
  const { orgId } = caller(res);
  const conversationKey = body.id ?? `conv_${randomUUID()}`;
  const userId = typeof body.metadata?.user_id === "string" ? body.metadata.user_id : undefined;

  const started = Date.now();
  const sse = (req.headers.accept ?? "").includes("text/event-stream");
  const abort = new AbortController();
  res.on("close", () => abort.abort());
  const waiting: { reply?: Promise<WaitResult> } = {};
  const accepted = await accept(
    deps.hub,
    {
      orgId,
      // The document's `metadata.channel` ("web", "whatsapp") is the integrator's label, kept in metadata: the
      // message came through this API, and its reply goes back only in this response.
      channel: "api",
      conversationKey,
      assistant: body.previewAssistantData ? { preview: body.previewAssistantData } : { ref: body.assistantId },
      externalId: body.message.id,
      role: body.message.role,
      content: body.message.content,
      metadata: body.metadata,
      folderIds: body.foldersId,
      userId,
      stream: sse,
    },
    {
      // Listening starts before the turn is queued, so the reply cannot come before its listener; a message
      // sent before may have been answered meanwhile, so that wait also looks in the database.
      beforeQueue: (a) => {
        waiting.reply = awaitReply(deps.bus, a.conversationId, a.message.id, {
          timeoutMs: deps.askTimeoutMs,
          signal: abort.signal,
          onDelta: sse ? (content) => sendEvent(res, "delta", { content }) : undefined,
          storedIn: a.duplicate ? deps.hub.prisma : undefined,
        });
      },
    },
  );
  const respond = (status: number, payload: unknown) => {
    if (!sse) return res.status(status).json(payload);
    sendEvent(res, status >= 400 ? "error" : "message", payload);
    res.end();
  };

  if (accepted.message.role !== "user") {
    // System and assistant messages are context for later turns: stored, not answered.
    return respond(200, { success: true, message: null, conversation_id: conversationKey, stored_message_id: accepted.message.id });
  }
  if (accepted.reply) return respond(...answer(accepted.reply, conversationKey));
  const held = () =>
    respond(202, { success: true, message: null, status: HELD, conversation_id: conversationKey, message_id: accepted.message.id });
  if (accepted.message.status === HELD) {
    // A person has the conversation: the message is theirs to answer, not the assistant's.
    abort.abort();
    return held();
  }
  if (!accepted.queued || !waiting.reply) {
    abort.abort();
    throw new HubError(503, "unavailable", UNAVAILABLE, { retryAfter: 5, messageId: accepted.message.id });
  }

  if (sse) openEventStream(res);
  const result = await waiting.reply;
  if (abort.signal.aborted) return;
  if (!result) {
    // Still being answered: the reply is stored when it comes, and asking again with the same message.id returns it.
    return respond(202, {
      success: true,
      message: null,
      status: "pending",
      conversation_id: conversationKey,
      message_id: accepted.message.id,
      waited_ms: Date.now() - started,
    });
  }
  // Held after it was queued: a person took the conversation before the assistant's reply was stored.
  if ("held" in result) return held();
  respond(...answer(result.reply, conversationKey, result.failed));
}

/** The document's response body for a stored reply. */
function answer(
  reply: Message | WireMessage,
  conversationKey: string,
  failed = Boolean("error" in reply && reply.error),
): [number, unknown] {
  const wire = "seq" in reply ? toWire(reply) : reply;
  const body = {
    success: !failed,
    ...(failed ? { error: "The assistant could not answer; the message shown is a fallback" } : {}),
    message: { id: wire.id, role: "assistant", content: wire.content, createdAt: wire.createdAt },
    metadata: {
      processing_time: wire.processingMs ?? 0,
      tokens_used: wire.tokensUsed ?? 0,
      knowledge_sources: wire.sources,
      citations: wire.citations,
    },
    conversation_id: conversationKey,
  };
  return [failed ? 502 : 200, body];
}
