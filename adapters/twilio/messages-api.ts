import { type Request, Router } from "express";
import { z } from "zod";
import type { KeyRing } from "../../src/auth/keys";
import type { ChannelRegistry, Template } from "../../src/channels";
import { upsertConversation } from "../../src/conversations";
import type { Db } from "../../src/db/database";
import { fieldIssues, invalid, notFound } from "../../src/errors";
import type { Message } from "../../src/generated/prisma/client";
import { principal, requireKey } from "../../src/http/auth";
import { errorHandler, jsonBody } from "../../src/http/body";
import { idempotencyKey } from "../../src/http/idempotency";
import { managementError, renderManagementError } from "../../src/http/management-error";
import type { Operation } from "../../src/http/openapi";
import type { Logger } from "../../src/logger";
import type { ReplyAddress } from "../../src/types";
import { checkWindow } from "../../src/window";
import { normalizeNumber } from "./numbers";
import { contentSid, contentVariables } from "./numbers-api";

// POST /api/twilio/messages: the business writes first (a proactive message), in the numbers API's dialect.
//   {to, from, body}                          free text: only within the user's 24-hour WhatsApp window (else 422
//                                             outside_window); SMS has no window
//   {to, from, contentSid, contentVariables?} an approved template: at any time
// `from` is a number bound to the caller's org (another org's is not found, as a number that is not bound);
// `whatsapp:` on either number sends by WhatsApp. The message is stored in the conversation with the user
// (made if new) and goes out like any reply (the deliver worker: in order, retried, paced, its status callbacks
// recorded). With Idempotency-Key a retried request finds the message stored, not a second one.

const PATH = "/api/twilio/messages";

export const proactiveMessage = z
  .strictObject({
    to: z.string().trim().min(1).max(100).describe("The user's number, E.164; `whatsapp:+…` for WhatsApp"),
    from: z.string().trim().min(1).max(100).describe("A number bound to your org, E.164; `whatsapp:+…` for WhatsApp"),
    body: z.string().trim().min(1, "body must not be empty").max(4096, "body is too long (4096 characters at most)").optional(),
    contentSid: contentSid.optional().describe("An approved template (Twilio Content SID); instead of `body`"),
    contentVariables: contentVariables.optional().describe('The template\'s variables: {"1": "Ana"}'),
  })
  .refine((m) => (m.body === undefined) !== (m.contentSid === undefined), { message: "send either body or contentSid", path: ["body"] })
  .refine((m) => !m.contentVariables || m.contentSid, { message: "contentVariables go with contentSid", path: ["contentVariables"] });

export const proactiveMessageView = z.object({
  id: z.string(),
  conversationId: z.string(),
  to: z.string(),
  from: z.string(),
  body: z.string().nullable(),
  contentSid: z.string().nullable(),
  status: z.string().describe("`unsent`, then Twilio's statuses (queued, sent, delivered, read, failed, undelivered)"),
  createdAt: z.iso.datetime(),
});

export interface MessagesApiDeps {
  prisma: Db;
  keys: KeyRing;
  channels: ChannelRegistry;
  logger: Logger;
}

export function twilioMessagesApi(deps: MessagesApiDeps): Router {
  const router = Router();
  router.post(PATH, ...jsonBody("16kb"), requireKey(deps.keys), async (req, res) => {
    const { message, duplicate } = await sendProactive(deps, principal(res), req);
    res.status(duplicate ? 200 : 201).json(view(message));
  });
  router.use(
    PATH,
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "twilio messages API failed")),
  );
  return router;
}

async function sendProactive(deps: MessagesApiDeps, who: { orgId: string; keyId?: string }, req: Request) {
  const parsed = proactiveMessage.safeParse(req.body ?? {});
  if (!parsed.success) throw invalid("Invalid message", fieldIssues(parsed.error.issues));
  const m = parsed.data;
  const [to, from] = [normalizeNumber(m.to), normalizeNumber(m.from)];
  if (!to || !from) {
    const issues = [...(to ? [] : ["to"]), ...(from ? [] : ["from"])].map((field) => ({
      field,
      message: "Expected an E.164 number such as +14155238886",
    }));
    throw invalid("Invalid message", issues);
  }
  const { prisma } = deps;
  const number = await prisma.twilioNumber.findFirst({ where: { number: from, orgId: who.orgId } });
  if (!number) throw notFound(`Number ${from} of your org`);
  const channel = /^whatsapp:/i.test(m.to) || /^whatsapp:/i.test(m.from) ? "whatsapp" : "sms";
  const prefix = channel === "whatsapp" ? "whatsapp:" : "";
  const address: ReplyAddress = { via: "twilio", from: prefix + from, to: prefix + to };
  const conversation = await upsertConversation(
    prisma,
    { orgId: who.orgId, conversationKey: `${channel}_${to}`, channel, userId: to, metadata: { channel, phone_number: to } },
    number.assistantId,
  );
  const key = idempotencyKey(req);
  const externalId = key === undefined ? undefined : `api:${key}`;
  const before = () => (externalId ? prisma.message.findFirst({ where: { conversationId: conversation.id, externalId } }) : null);
  const found = await before();
  if (found) return { message: await sent(deps, found, who.orgId), duplicate: true };

  const template: Template | undefined = m.contentSid
    ? { contentSid: m.contentSid, ...(m.contentVariables ? { variables: m.contentVariables } : {}) }
    : undefined;
  if (!template) await checkWindow(prisma, conversation.id, deps.channels.freeFormWindowMs(address));
  let message: Message;
  try {
    message = await prisma.message.create({
      data: {
        conversationId: conversation.id,
        externalId,
        role: "assistant",
        content: m.body ?? `[template ${m.contentSid}]`,
        status: deps.channels.statusFor(address),
        metadata: { proactive: true, ...(template ? { template: { ...template } } : {}), ...(who.keyId ? { apiKeyId: who.keyId } : {}) },
        replyAddress: { ...address },
      },
    });
  } catch (err) {
    // The same key sent twice at once: the other request stored it.
    const stored = (err as { code?: string }).code === "P2002" ? await before() : null;
    if (!stored) throw err;
    return { message: await sent(deps, stored, who.orgId), duplicate: true };
  }
  return { message: await sent(deps, message, who.orgId), duplicate: false };
}

/** Hands the stored message to its sender; with Redis away it is stored all the same, and the outbox sends it. */
async function sent(deps: MessagesApiDeps, message: Message, orgId: string): Promise<Message> {
  await deps.channels
    .send(message, orgId)
    .catch((err) => deps.logger.warn({ message: message.id, err: err.message }, "proactive message stored, its send left to the outbox"));
  return message;
}

function view(m: Message): z.output<typeof proactiveMessageView> {
  const address = m.replyAddress as unknown as { from: string; to: string };
  const template = (m.metadata as { template?: Template }).template;
  return {
    id: m.id,
    conversationId: m.conversationId,
    to: address.to,
    from: address.from,
    body: template ? null : m.content,
    contentSid: template?.contentSid ?? null,
    status: m.status,
    createdAt: m.createdAt.toISOString(),
  };
}

export const twilioMessageOperations: Operation[] = [
  {
    method: "post",
    path: PATH,
    operationId: "sendTwilioMessage",
    tag: "Twilio",
    summary: "Send a proactive WhatsApp or SMS message from one of your org's numbers",
    description:
      "Free text (`body`) goes only within WhatsApp's 24-hour window after the user last wrote (else 422 `outside_window`); an approved " +
      "template (`contentSid`, `contentVariables`) at any time. Stored in the conversation with the user (created if new) and sent " +
      "like a reply: its status follows Twilio's callbacks. With `Idempotency-Key`, a retried request returns the stored message (200).",
    body: proactiveMessage,
    responses: {
      201: { description: "Stored and on its way", schema: proactiveMessageView },
      200: { description: "Sent before with this Idempotency-Key", schema: proactiveMessageView },
      400: { description: "Invalid numbers, or neither or both of body and contentSid", schema: managementError },
      401: { description: "Invalid or missing API key", schema: managementError },
      404: { description: "`from` is not a number of the key's org", schema: managementError },
      422: { description: "`outside_window`: free text after WhatsApp's 24-hour window closed", schema: managementError },
    },
  },
];
