import { z } from "zod";
import { KEY_OR_CONSOLE, type Operation } from "../../../src/http/openapi";
import { citationList } from "../../../src/knowledge/citations";
import { askRequest } from "./schema";

// The ask API for the OpenAPI document: the request is the schema the handler parses with.

const answer = z.object({
  success: z.boolean(),
  error: z.string().optional().describe("Set when the assistant failed; `message` is then the fallback the user sees"),
  message: z.object({ id: z.string(), role: z.literal("assistant"), content: z.string(), createdAt: z.iso.datetime() }),
  metadata: z.object({
    processing_time: z.number(),
    tokens_used: z.number(),
    knowledge_sources: z.array(z.string()),
    citations: citationList.describe("Not in the seed: where each passage the reply drew on sits (document, heading, page, URL)"),
  }),
  conversation_id: z.string(),
});
const stored = z.object({
  success: z.literal(true),
  message: z.null(),
  conversation_id: z.string(),
  stored_message_id: z.string().describe("The system (or assistant) message, stored as context: not answered"),
});
const notYet = z.object({
  success: z.literal(true),
  message: z.null(),
  status: z.enum(["pending", "held"]).describe("`pending`: still being answered; `held`: a person has the conversation and answers"),
  conversation_id: z.string(),
  message_id: z.string(),
  waited_ms: z.number().optional(),
});
const failure = z.object({
  success: z.literal(false),
  error: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  retry_after: z.number().optional(),
  assistant_id: z.string().optional(),
  message_id: z.string().optional(),
});

export const askOperations: Operation[] = [
  {
    tag: "AI Hub ask",
    method: "post",
    path: "/api/ai-hub/assistant/ask",
    operationId: "askAssistant",
    auth: KEY_OR_CONSOLE,
    summary: "Ask an assistant: one message in, the reply out (JSON, or SSE with `Accept: text/event-stream`)",
    description:
      "The same `message.id` sent again returns the stored reply. `role: system` messages are stored as context. " +
      "SSE: `delta` events (`{ content }`), then one `message` event carrying the JSON reply's body.",
    body: askRequest,
    responses: {
      200: { description: "The reply (or, for a system message, `message: null`)", schema: z.union([answer, stored]) },
      202: {
        description:
          "Not answered within ASK_TIMEOUT_MS (ask again with the same message.id), or held for the person who has the conversation",
        schema: notYet,
      },
      400: { description: "Message parse problem", schema: failure },
      401: { description: "Invalid or missing API key", schema: failure },
      404: { description: "Assistant not found or not deployed", schema: failure },
      429: { description: "Rate limit exceeded", schema: failure },
      502: { description: "The assistant failed: the fallback reply", schema: answer },
      503: { description: "Queue unreachable: the message is saved and will be answered", schema: failure },
    },
  },
];
