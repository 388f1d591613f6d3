import { z } from "zod";
import { fieldIssues, type HubError } from "../../src/errors";
import { MAX_COMMENT_CHARS, RATINGS } from "../../src/feedback";
import { MAX_JSON_DEPTH, tooDeep, tooDeepIssue } from "../../src/json-depth";
import type { MessageAuthor, WireMessage } from "../../src/types";

// The /ws wire format (General Bots' protocol): JSON text frames.
//
// Client -> server, two types:
//   {"type":"message","content":"Hello","session_id":"...","id":"<client id>","assistant_id":"<id or name>"}
//   id (optional) makes a resend after a reconnect a no-op; assistant_id is for authenticated users only.
//   {"type":"feedback","message_id":"<a bot message's id>","rating":"up"|"down","comment":"..."}
//   thumbs on an answer of this session's conversation (comment optional, 1000 characters at most); sent again,
//   it replaces the session's earlier feedback on that message. Another conversation's message: error not_found.
// Server -> client, the seed's five types, plus `delta` for clients that connected with ?stream=1:
//   message    {id, sender: "user"|"bot", content, timestamp, session_id, reply_to?, sources?, citations?, failed?}
//              citations (bot only): [{documentId, title, heading, page, url}], the passages the reply drew on
//   typing     {sender: "bot", reply_to}                      the assistant is working on that message; an
//              operator writing has reply_to null and author {kind: "operator", name}
//   message    from an operator (sender "bot": the business speaking) carries author {kind: "operator", name}
//   suggestion {suggestions: [...], reply_to}                 quick replies after a bot message
//   status     {status: "connected"|"expired"|"closing", session_id, conversation_id, ...}
//   error      {code, message, issues?, retry_after?}          code from the seed's error table
//   delta      {reply_to, content}                            a piece of the reply being written
//   feedback   {message_id, rating, comment}                  the feedback was stored (ours, not the seed's); on
//              connect, one for each rating the session gave before

export const MAX_CONTENT_CHARS = 8000;

export const clientFrame = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("message"),
    content: z.string().trim().min(1, "content must not be empty").max(MAX_CONTENT_CHARS),
    session_id: z.string().max(100).optional(),
    id: z.string().min(1).max(200).optional(),
    assistant_id: z.string().min(1).max(200).optional(),
  }),
  z.object({
    type: z.literal("feedback"),
    message_id: z.string().min(1).max(100),
    rating: z.enum(RATINGS),
    comment: z.string().max(MAX_COMMENT_CHARS).optional(),
    session_id: z.string().max(100).optional(),
  }),
]);
export type ClientFrame = z.infer<typeof clientFrame>;

/** Parses one text frame; a HubError-shaped problem for anything that is not a valid client frame. */
export function parseFrame(raw: string): { frame: ClientFrame } | { problem: ErrorFrame } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { problem: { type: "error", code: "invalid_message", message: "Frame is not valid JSON" } };
  }
  const deep = tooDeep(json);
  if (deep !== null) {
    const message = `Frame nested too deeply (${MAX_JSON_DEPTH} levels at most)`;
    return { problem: { type: "error", code: "invalid_message", message, issues: [tooDeepIssue(deep)] } };
  }
  const parsed = clientFrame.safeParse(json);
  if (parsed.success) return { frame: parsed.data };
  return {
    problem: { type: "error", code: "invalid_message", message: "Malformed message", issues: fieldIssues(parsed.error.issues) },
  };
}

export type SeedErrorCode = "invalid_message" | "unauthorized" | "forbidden" | "not_found" | "rate_limited" | "unavailable";

export interface ErrorFrame {
  type: "error";
  code: SeedErrorCode;
  message: string;
  issues?: { field: string; message: string }[];
  retry_after?: number;
}

/** A core error in the seed's table of codes (`unavailable` is ours: the hub, not the message, failed). */
export function errorFrame(err: HubError): ErrorFrame {
  const code: SeedErrorCode =
    err.code === "assistant_not_found"
      ? "not_found"
      : err.code === "payload_too_large" || err.code === "conflict" || err.code === "outside_window"
        ? "invalid_message"
        : err.code;
  return {
    type: "error",
    code,
    message: err.message,
    ...(err.details.issues?.length ? { issues: err.details.issues } : {}),
    ...(err.details.retryAfter ? { retry_after: err.details.retryAfter } : {}),
  };
}

export function messageFrame(m: WireMessage, sessionId: string, failed = false) {
  const bot = m.role === "assistant";
  return {
    type: "message" as const,
    id: m.id,
    sender: bot ? "bot" : "user",
    content: m.content,
    timestamp: m.createdAt,
    session_id: sessionId,
    ...(bot ? { reply_to: m.inReplyToId, sources: m.sources, citations: m.citations } : {}),
    ...(m.author ? { author: m.author } : {}),
    ...(failed ? { failed: true } : {}),
  };
}

export const typingFrame = (turnId: string) => ({ type: "typing" as const, sender: "bot", reply_to: turnId });
export const operatorTypingFrame = (author: MessageAuthor) => ({ type: "typing" as const, sender: "bot", reply_to: null, author });
export const deltaFrame = (turnId: string, content: string) => ({ type: "delta" as const, reply_to: turnId, content });
export const suggestionFrame = (replyId: string, suggestions: string[]) => ({
  type: "suggestion" as const,
  suggestions,
  reply_to: replyId,
});
