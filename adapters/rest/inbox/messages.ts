import type { RequestHandler } from "express";
import { z } from "zod";
import { authorField } from "../../../src/conversations";
import { fieldIssues, invalid } from "../../../src/errors";
import type { Message } from "../../../src/generated/prisma/client";
import { caller } from "../../../src/http/auth";
import { idempotencyKey } from "../../../src/http/idempotency";
import { managementError } from "../../../src/http/management-error";
import type { Operation } from "../../../src/http/openapi";
import { DEFAULT_OPERATOR_NAME, type OperatorDeps, sendOperatorMessage } from "../../../src/operators";

// POST /api/inbox/:conversationId/messages: an operator writes to the user, through the conversation's own
// channel (src/operators.ts). The operator API's (issue #14) errors and objects are the management API's.
// The inbox's router (index.ts) serves it behind the org's key.

export const operatorMessageRequest = z.strictObject({
  content: z.string().trim().min(1, "content must not be empty").max(4096, "content is too long (4096 characters at most)"),
  author: z.string().trim().min(1).max(100).optional().describe("The operator's name, shown where a channel shows who wrote"),
});

export const operatorMessageView = z.object({
  id: z.string(),
  conversationId: z.string(),
  role: z.literal("assistant"),
  content: z.string(),
  status: z.string().describe("`sent` for a push channel (socket, API); `unsent`, then the provider's statuses, for Twilio"),
  author: z.object({ kind: z.literal("operator"), name: z.string() }),
  createdAt: z.iso.datetime(),
});

export function postOperatorMessage(deps: OperatorDeps): RequestHandler {
  return async (req, res) => {
    const parsed = operatorMessageRequest.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid("Invalid message", fieldIssues(parsed.error.issues));
    const { orgId, keyId, operator } = caller(res);
    const { message, duplicate } = await sendOperatorMessage(deps, {
      orgId,
      conversationRef: String(req.params.conversationId),
      content: parsed.data.content,
      author: { kind: "operator", name: parsed.data.author ?? operator?.email ?? DEFAULT_OPERATOR_NAME },
      keyId,
      idempotencyKey: idempotencyKey(req),
    });
    res.status(duplicate ? 200 : 201).json(view(message));
  };
}

export function view(m: Message): z.output<typeof operatorMessageView> {
  return {
    id: m.id,
    conversationId: m.conversationId,
    role: "assistant",
    content: m.content,
    status: m.status,
    author: authorField(m).author ?? { kind: "operator", name: DEFAULT_OPERATOR_NAME },
    createdAt: m.createdAt.toISOString(),
  };
}

export const operatorMessageOperations: Operation[] = [
  {
    method: "post",
    path: "/api/inbox/{conversationId}/messages",
    tag: "inbox",
    summary: "Send an operator's message to the user, on the conversation's channel",
    description:
      "Stored as a business-side message (role `assistant`, `author` the operator) and sent like a reply: to the widget's sockets, " +
      "or through Twilio. `conversationId` is the conversation's id or its channel id (`whatsapp_+351…`). With `Idempotency-Key`, a " +
      "retried request returns the stored message (200). On WhatsApp, 24 hours after the user last wrote, 422 `outside_window`.",
    pathParams: z.object({ conversationId: z.string().describe("The conversation's id, or the id its channel knows") }),
    body: operatorMessageRequest,
    responses: {
      201: { description: "Stored and on its way", schema: operatorMessageView },
      200: { description: "Sent before with this Idempotency-Key", schema: operatorMessageView },
      400: { description: "Invalid content or author", schema: managementError },
      401: { description: "Invalid or missing API key", schema: managementError },
      404: { description: "No such conversation in the key's org", schema: managementError },
      422: { description: "`outside_window`: WhatsApp's 24-hour window has closed", schema: managementError },
    },
  },
];
