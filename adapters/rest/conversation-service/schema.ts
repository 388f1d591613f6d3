import { z } from "zod";
import { errorResponses, type Operation } from "../../../src/http/openapi";
import { citationList } from "../../../src/knowledge/citations";

// The Conversation Service (seed 004): every call takes `org_id` in the query and a Bearer key of that org.

const orgId = z
  .string({ error: "org_id is required" })
  .min(1, "org_id is required")
  .describe("Organization ID: the API key's org (GET /api/me)");
const conversationId = z.guid("conversation_id must be a UUID").describe("Conversation ID");
const page = {
  limit: z.coerce.number().int().min(1).max(100).default(20).describe("Maximum number of items to return"),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0).describe("Number of items to skip"),
};

export const orgQuery = z.object({ org_id: orgId });
export const listQuery = orgQuery.extend(page);
export const conversationQuery = orgQuery.extend({ conversation_id: conversationId });
export const messagesQuery = conversationQuery.extend(page);

export const createRequest = z.object({
  title: z.string({ error: "title is required" }).trim().min(1, "title is required").max(500).describe("Conversation title"),
  is_archived: z.boolean().default(false).describe("Whether the conversation is archived"),
});

export const createSessionRequest = z.object({
  conversation_id: conversationId,
  model_id: z
    .string({ error: "model_id is required" })
    .min(1, "model_id is required")
    .max(200)
    .describe("The language model to use: an assistant of the org (its id or name), which carries its provider, model and instructions"),
});

export const streamChatRequest = z.object({
  chat_session_id: z.guid("chat_session_id must be a UUID").describe("ID of the chat session"),
  message: z
    .string({ error: "message is required" })
    .trim()
    .min(1, "message is required")
    .max(32_000, "message is too long (32000 characters at most)")
    .describe("User message to send to the language model"),
});

export const conversation = z.object({
  id: z.string().describe("Conversation ID"),
  title: z.string().nullable().describe("Conversation title (null for conversations begun on a channel, e.g. WhatsApp)"),
  is_archived: z.boolean(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

export const chatSession = z.object({
  id: z.string().describe("Chat session ID"),
  conversation_id: z.string(),
  model_id: z.string().nullable(),
  status: z.string().describe('Session status ("active", "completed", etc.)'),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

export const conversationWithSessions = conversation.extend({ chat_sessions: z.array(chatSession) });

/** Where an assistant reply's knowledge came from; not in the seed, which lists no message fields. */
const citations = citationList;

export const message = z.object({
  id: z.string(),
  conversation_id: z.string(),
  chat_session_id: z.string().nullable(),
  role: z.enum(["user", "assistant", "system"]),
  content: z.string(),
  created_at: z.iso.datetime(),
  citations,
  author: z
    .object({ kind: z.literal("operator"), name: z.string() })
    .optional()
    .describe("An assistant message a person of the business (an operator) wrote"),
});

/** The data of each SSE event of stream_chat. */
export const streamEvents = {
  start: z.object({ message_id: z.string().describe("The stored user message"), conversation_id: z.string(), chat_session_id: z.string() }),
  content: z.object({ content: z.string().describe("The next chunk of the response") }),
  end: z.object({
    message_id: z.string().describe("The stored response"),
    content: z.string().describe("The whole response"),
    tokens_used: z.number().int().nullable(),
    failed: z.boolean().describe("The model could not answer; the content is the fallback the user sees"),
    citations,
  }),
  error: z.object({ detail: z.string() }),
};

export const errorResponse = z.object({
  detail: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

const errors = errorResponses(errorResponse, {
  400: "Bad Request - Invalid input or validation error",
  401: "Unauthorized - Invalid or missing token",
  403: "Forbidden - org_id is not the key's organization",
  404: "Not Found - Resource doesn't exist",
  429: "Too Many Requests - Rate limit exceeded",
});

const tag = "Conversation Service";
export const conversationServiceOperations: Operation[] = [
  {
    tag,
    method: "post",
    path: "/api/conversation/create",
    operationId: "serviceCreateConversation",
    summary: "Create a new conversation",
    query: orgQuery,
    body: createRequest,
    responses: { 201: { description: "Created", schema: conversation }, ...errors(400, 401, 403) },
  },
  {
    tag,
    method: "post",
    path: "/api/conversation/create_session",
    operationId: "serviceCreateSession",
    summary: "Create a chat session for a conversation with a specific model (assistant)",
    query: orgQuery,
    body: createSessionRequest,
    responses: { 201: { description: "Created", schema: chatSession }, ...errors(400, 401, 403, 404) },
  },
  {
    tag,
    method: "post",
    path: "/api/conversation/stream_chat",
    operationId: "serviceStreamChat",
    summary: "Send a message and receive the response as server-sent events",
    description:
      "Events: `start` (the stored user message's id), `content` (chunks of the response), `end` (the stored response's id and whole text); " +
      "`error` if the response is not ready in time (it is stored when it comes). Send `Idempotency-Key` to make a retry return the same response.",
    query: orgQuery,
    body: streamChatRequest,
    responses: {
      200: { description: "SSE stream", contentType: "text/event-stream", schema: z.union(Object.values(streamEvents)) },
      ...errors(400, 401, 403, 404, 429),
    },
  },
  {
    tag,
    method: "get",
    path: "/api/conversation/list",
    operationId: "serviceListConversations",
    summary: "List the organization's conversations, newest first (total in X-Total-Count)",
    query: listQuery,
    responses: { 200: { description: "One page", schema: z.array(conversation) }, ...errors(400, 401, 403) },
  },
  {
    tag,
    method: "get",
    path: "/api/conversation/get_with_sessions",
    operationId: "serviceGetConversation",
    summary: "A conversation with its chat sessions",
    query: conversationQuery,
    responses: { 200: { description: "The conversation", schema: conversationWithSessions }, ...errors(400, 401, 403, 404) },
  },
  {
    tag,
    method: "get",
    path: "/api/conversation/messages",
    operationId: "serviceListMessages",
    summary: "A conversation's messages in order",
    query: messagesQuery,
    responses: { 200: { description: "One page", schema: z.array(message) }, ...errors(400, 401, 403, 404) },
  },
];
