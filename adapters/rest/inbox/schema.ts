import { z } from "zod";
import { managementErrors } from "../../../src/http/management-error";
import type { Operation } from "../../../src/http/openapi";

// The operator inbox's request and response shapes, and its operations for the OpenAPI document.

export const inboxQuery = z.object({
  state: z.enum(["waiting", "human", "bot", "all"]).default("all").describe("Which conversations: by handoff state, or all"),
  limit: z.coerce.number().int().min(1).max(100).default(20).describe("Number of results"),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0).describe("Pagination offset"),
});

export const handoffBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional().describe("Why a person should take over, for the team"),
});

export const takeoverBody = z.strictObject({
  operator: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe("Who takes the conversation (default: the API key's name); taking it again under the same name is a no-op"),
});

const message = z.object({ role: z.string(), content: z.string(), status: z.string(), createdAt: z.string() });

export const inboxConversation = z.object({
  id: z.string(),
  externalId: z.string().describe("The id its channel knows it by (`whatsapp_+351…`)"),
  channel: z.string(),
  state: z.enum(["bot", "waiting", "human"]),
  waitingSince: z.string().nullable().describe("When a person was asked for (null in bot)"),
  assignee: z.string().nullable().describe("The operator who took it"),
  reason: z.string().nullable(),
  summary: z.string().nullable().describe("What the conversation was about at the handoff: the model's summary, or the last messages"),
  lastMessage: message.nullable().optional(),
  lastActivityAt: z.string().optional(),
});

export const inboxList = z.object({
  conversations: z.array(inboxConversation),
  total: z.number(),
  limit: z.number(),
  offset: z.number(),
});

const tag = "Operator inbox";
const conversationId = z.object({
  conversationId: z.string().describe("The conversation's id, or the id its channel knows it by (`whatsapp_+351…`)"),
});
const errors = managementErrors({
  404: "`not_found`: no such conversation in the key's org",
  409: "`conflict`: the conversation is not in a state this applies to (handed off already, taken by another operator, not handed off)",
});

export const inboxOperations: Operation[] = [
  {
    tag,
    method: "get",
    path: "/api/inbox",
    operationId: "listInbox",
    summary: "The org's conversations by handoff state, waiting ones first (the longest waiting first)",
    query: inboxQuery,
    responses: { 200: { description: "A page of conversations", schema: inboxList }, ...errors(400, 401) },
  },
  {
    tag,
    method: "post",
    path: "/api/inbox/{conversationId}/handoff",
    operationId: "handOff",
    summary: "Ask for a person: the assistant stops answering, the user is told, the conversation waits for an operator",
    pathParams: conversationId,
    body: handoffBody,
    responses: { 200: { description: "The conversation, waiting", schema: inboxConversation }, ...errors(400, 401, 404, 409) },
  },
  {
    tag,
    method: "post",
    path: "/api/inbox/{conversationId}/takeover",
    operationId: "takeOver",
    summary: "Take the conversation (waiting, or straight from the assistant)",
    pathParams: conversationId,
    body: takeoverBody,
    responses: { 200: { description: "The conversation, taken", schema: inboxConversation }, ...errors(400, 401, 404, 409) },
  },
  {
    tag,
    method: "post",
    path: "/api/inbox/{conversationId}/release",
    operationId: "release",
    summary: "Hand the conversation back to the assistant, which answers again from the user's next message",
    pathParams: conversationId,
    responses: { 200: { description: "The conversation, back in bot", schema: inboxConversation }, ...errors(401, 404, 409) },
  },
];
