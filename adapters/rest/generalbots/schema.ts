import { z } from "zod";
import { isUuid } from "../../../src/assistants/store";
import type { HistoryBound } from "../../../src/conversation-reads";
import { errorResponses, type Operation } from "../../../src/http/openapi";

// The General Bots Conversations API (seed 001; seed 000 has the same paths without `/api`): requests as
// the handlers parse them, responses as they are sent, and the operations the OpenAPI document lists.

const content = z
  .string()
  .trim()
  .min(1, "The message content is empty")
  .max(32_000, "The message content is too long (32000 characters at most)");

export const startRequest = z.object({
  bot_id: z.string().trim().min(1, "bot_id is required").max(200).describe("The bot: an assistant's id or name, e.g. `default`"),
  initial_message: content.optional().describe("Sent as the conversation's first message, answered like any other"),
});

export const attachment = z.object({
  url: z.url(),
  content_type: z.string().max(200).optional(),
  name: z.string().max(500).optional(),
});

export const messageRequest = z.object({
  content: content.describe("The user's message"),
  attachments: z.array(attachment).max(10).default([]),
});

const bound = z
  .string()
  .describe("An ISO 8601 timestamp, or a message id for an exact cursor")
  .transform((v, ctx): HistoryBound => {
    if (isUuid(v)) return { messageId: v };
    const at = Date.parse(v);
    if (Number.isNaN(at)) {
      ctx.addIssue({ code: "custom", message: "Must be an ISO 8601 timestamp or a message id" });
      return z.NEVER;
    }
    return { at: new Date(at) };
  });

export const historyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50).describe("Number of messages"),
  before: bound.optional().describe("Messages before this timestamp (or message id)"),
  after: bound.optional().describe("Messages after this timestamp (or message id)"),
});

export const conversationStatus = z.enum(["active", "archived"]);

export const listQuery = z.object({
  bot_id: z.string().min(1).max(200).optional().describe("Filter by bot (assistant id or name)"),
  status: conversationStatus.optional().describe("Filter by status"),
  limit: z.coerce.number().int().min(1).max(100).default(20).describe("Number of results"),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0).describe("Pagination offset"),
});

export const updateRequest = z.object({
  status: conversationStatus.describe("`archived` archives the conversation, `active` restores it"),
});

export const idParam = z.object({ id: z.string().describe("The conversation id, or the id its channel knows (e.g. `whatsapp_+351…`)") });

export const startResponse = z.object({ conversation_id: z.string(), session_id: z.string(), status: z.literal("active") });

export const messageResponse = z.object({
  message_id: z.string(),
  timestamp: z.iso.datetime(),
  status: z.enum(["delivered", "pending"]).describe("`pending`: kept, and answered once the queue is reachable again"),
});

/** Who wrote a bot message when a person of the business did (an operator), not the assistant. */
export const operatorAuthor = z.object({ kind: z.literal("operator"), name: z.string() });

export const historyResponse = z.object({
  messages: z.array(
    z.object({
      id: z.string(),
      sender: z.enum(["user", "bot", "system"]),
      content: z.string(),
      timestamp: z.iso.datetime(),
      author: operatorAuthor.optional(),
    }),
  ),
  has_more: z.boolean(),
});

export const conversationItem = z.object({
  id: z.string(),
  bot_id: z.string().nullable(),
  bot_name: z.string().nullable(),
  last_message: z.string().nullable(),
  last_activity: z.iso.datetime(),
  status: conversationStatus,
});

export const listResponse = z.object({ conversations: z.array(conversationItem), total: z.number().int() });

export const updateResponse = z.object({ id: z.string(), status: conversationStatus, archived_at: z.iso.datetime().nullable() });

export const errorResponse = z.object({
  error: z.enum(["invalid_message", "unauthorized", "forbidden", "not_found", "rate_limited"]).or(z.string()),
  message: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  retry_after: z.number().int().optional(),
});

const errors = errorResponses(errorResponse, {
  400: "`invalid_message`: malformed input",
  401: "`unauthorized`: authentication required",
  403: "`forbidden`: no access to conversation",
  404: "`not_found`: conversation (or bot) doesn't exist",
  429: "`rate_limited`: too many requests (messages 60, history 100, list 30 a minute per key)",
});

/** The operations under one prefix: `/api/conversations`, or the older `/conversations`. */
export function generalBotsOperations(prefix: string, alias = false): Operation[] {
  const tag = "General Bots conversations";
  const common = {
    tag,
    deprecated: alias || undefined,
    description: alias ? `The older path (seed 000) of the same operation under \`/api${prefix}\`.` : undefined,
  };
  // The older paths' operations are named apart: an operationId is unique in the document.
  const id = (name: string) => (alias ? `${name}Unprefixed` : name);
  return [
    {
      ...common,
      method: "post",
      path: `${prefix}/start`,
      operationId: id("startConversation"),
      summary: "Start a conversation with a bot",
      body: startRequest,
      responses: { 201: { description: "Started", schema: startResponse }, ...errors(400, 401, 404, 429) },
    },
    {
      ...common,
      method: "post",
      path: `${prefix}/{id}/messages`,
      operationId: id("sendMessage"),
      summary: "Send a message in a conversation (answered by the bot; read the reply with history)",
      pathParams: idParam,
      body: messageRequest,
      responses: {
        201: { description: "Accepted", schema: messageResponse },
        200: { description: "The same Idempotency-Key was sent before: the message stored then", schema: messageResponse },
        ...errors(400, 401, 403, 404, 429),
      },
    },
    {
      ...common,
      method: "get",
      path: `${prefix}/{id}/history`,
      operationId: id("getHistory"),
      summary: "A conversation's messages, oldest first",
      pathParams: idParam,
      query: historyQuery,
      responses: { 200: { description: "One page", schema: historyResponse }, ...errors(400, 401, 403, 404, 429) },
    },
    {
      ...common,
      method: "get",
      path: prefix,
      operationId: id("listConversations"),
      summary: "List conversations, latest activity first",
      query: listQuery,
      responses: { 200: { description: "One page and the total", schema: listResponse }, ...errors(400, 401, 429) },
    },
    {
      ...common,
      method: "patch",
      path: `${prefix}/{id}`,
      operationId: id("updateConversation"),
      summary: "Archive a conversation, or make it active again",
      pathParams: idParam,
      body: updateRequest,
      responses: { 200: { description: "Updated", schema: updateResponse }, ...errors(400, 401, 403, 404) },
    },
  ];
}
