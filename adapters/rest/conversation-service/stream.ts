import type { Request, Response } from "express";
import type { z } from "zod";
import { DEFAULT_ASSISTANT } from "../../../src/bootstrap";
import { HELD, toWire } from "../../../src/conversations";
import { HubError, notFound } from "../../../src/errors";
import { principal } from "../../../src/http/auth";
import { idempotencyKey } from "../../../src/http/idempotency";
import { openEventStream, sendEvent } from "../../../src/http/sse";
import { accept } from "../../../src/hub";
import type { WireMessage } from "../../../src/types";
import { awaitReply } from "../../../src/wait";
import { parse } from "./errors";
import type { ConversationServiceDeps } from "./index";
import { streamChatRequest, type streamEvents } from "./schema";

type Events = { [K in keyof typeof streamEvents]: z.output<(typeof streamEvents)[K]> };

/**
 * POST /api/conversation/stream_chat: the message is accepted like any channel's (stored, queued, answered
 * once by the worker with the session's assistant), then the answer is relayed as SSE: `start`, `content`
 * chunks as the model writes them, `end` with the stored reply. A client that goes away loses nothing: the
 * reply is stored and listed by /messages.
 */
export async function streamChat(deps: ConversationServiceDeps, req: Request, res: Response) {
  const body = parse(streamChatRequest, req.body);
  const { orgId, keyId } = principal(res);
  const session = await deps.hub.prisma.chatSession.findFirst({
    where: { id: body.chat_session_id, conversation: { orgId } },
    include: { conversation: true },
  });
  if (!session) throw notFound("Chat session");
  const { conversation } = session;
  const accepted = await accept(deps.hub, {
    orgId,
    channel: conversation.channel,
    conversationKey: conversation.externalId,
    assistant: { ref: session.assistantId ?? DEFAULT_ASSISTANT },
    externalId: idempotencyKey(req),
    role: "user",
    content: body.message,
    sessionId: session.id,
    rateKey: `key:${keyId}`,
    stream: true,
  });
  if (accepted.message.status === HELD) {
    // A person has the conversation: the message is theirs to answer, not the assistant's.
    return res.status(202).json({ message_id: accepted.message.id, conversation_id: conversation.id, status: HELD });
  }
  if (!accepted.reply && !accepted.queued) {
    throw new HubError(503, "unavailable", "Service temporarily unavailable: the message was saved and will be answered", {
      retryAfter: 5,
      messageId: accepted.message.id,
    });
  }

  openEventStream(res);
  const send = <K extends keyof Events>(event: K, data: Events[K]) => sendEvent(res, event, data);
  send("start", { message_id: accepted.message.id, conversation_id: conversation.id, chat_session_id: session.id });

  let streamed = "";
  const finish = (reply: WireMessage, failed: boolean) => {
    // Chunks published before this request was listening are missed; what is missing is sent as one chunk.
    if (reply.content.startsWith(streamed) && reply.content.length > streamed.length) {
      send("content", { content: reply.content.slice(streamed.length) });
    }
    send("end", { message_id: reply.id, content: reply.content, tokens_used: reply.tokensUsed, failed, citations: reply.citations });
    res.end();
  };
  if (accepted.reply) return finish(toWire(accepted.reply), Boolean(accepted.reply.error));

  const abort = new AbortController();
  res.on("close", () => abort.abort());
  const result = await awaitReply(deps.bus, accepted.conversationId, accepted.message.id, {
    storedIn: deps.hub.prisma,
    timeoutMs: deps.streamTimeoutMs,
    signal: abort.signal,
    onDelta: (content) => {
      streamed += content;
      send("content", { content });
    },
  });
  if (abort.signal.aborted) return;
  if (result && "held" in result) {
    send("error", { detail: "A person has the conversation now: they answer this message, not the assistant" });
    return res.end();
  }
  if (result) return finish(result.reply, result.failed);
  send("error", { detail: "The response is taking longer than expected; it will be stored with the conversation's messages" });
  res.end();
}
