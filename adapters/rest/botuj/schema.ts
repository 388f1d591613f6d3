import { z } from "zod";
import type { Operation } from "../../../src/http/openapi";

// botuj.pl's conversations API (seed 003): GET /v1/api/conversations, objects exactly as the document shows.

export const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1).describe("Page number"),
  per_page: z.coerce.number().int().min(1).max(100).default(20).describe("Number of items per page"),
});

export const conversation = z.object({
  id: z.number().int().describe("Unique identifier for the conversation"),
  type: z.string().describe("Type of conversation: the channel it came in on (`api`, `whatsapp`, `web`…)"),
  count: z.number().int().describe("Number of messages in the conversation"),
  sessionid: z.string().describe("Unique session identifier: the id the channel knows the conversation by"),
  firstUserMessage: z.string().nullable().describe("The initial message from the user"),
  firstBotMessage: z.string().nullable().describe('The first response from the bot (JSON string: `{"message":"…"}`)'),
  createdOn: z.iso.datetime().describe("Timestamp of when the conversation was created"),
});

export const listResponse = z.array(conversation);

export const errorResponse = z.object({
  error: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export const botujOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/api/conversations",
    operationId: "listBotujConversations",
    tag: "botuj conversations",
    summary: "List conversations, newest first",
    description:
      "A JSON array of conversations. `X-Total-Count` gives the number of conversations and `Link` the `next`, `prev`, `first` and `last` pages.",
    query: listQuery,
    responses: {
      200: { description: "One page", schema: listResponse },
      400: { description: "Invalid `page` or `per_page`", schema: errorResponse },
      401: { description: "Invalid or missing API key", schema: errorResponse },
    },
  },
];
