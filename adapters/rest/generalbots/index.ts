import { randomUUID } from "node:crypto";
import { type Request, type Response, Router } from "express";
import type { z } from "zod";
import { findAssistant } from "../../../src/assistants/store";
import type { KeyRing } from "../../../src/auth/keys";
import { DEFAULT_ASSISTANT } from "../../../src/bootstrap";
import type { Channel } from "../../../src/channels";
import { existsInAnotherOrg, findConversation, listWithLastMessage, pageHistory } from "../../../src/conversation-reads";
import { authorField } from "../../../src/conversations";
import { fieldIssues, HubError, invalid, notFound } from "../../../src/errors";
import { principal, requireKey } from "../../../src/http/auth";
import { errorHandler, jsonBody } from "../../../src/http/body";
import { idempotencyKey } from "../../../src/http/idempotency";
import { accept, type HubDeps } from "../../../src/hub";
import { firstSession, openConversation } from "../../../src/sessions";
import { renderGeneralBotsError } from "./errors";
import {
  historyQuery,
  type historyResponse,
  idParam,
  listQuery,
  type listResponse,
  messageRequest,
  type messageResponse,
  startRequest,
  type startResponse,
  updateRequest,
  type updateResponse,
} from "./schema";

// The General Bots Conversations API over the hub's one store, at /api/conversations and (seed 000) at
// /conversations. How it maps:
//   start {bot_id, initial_message}   -> a conversation (channel "api", assistant = bot) and a chat session;
//                                        initial_message goes through accept() like any channel's message
//   :id/messages {content, attachments} -> accept(): a turn, answered by the worker; Idempotency-Key = message id
//   :id/history   -> the conversation's messages by seq; sender user | bot (assistant) | system; a bot message
//                    an operator wrote has `author` {kind: "operator", name}
//   GET /         -> conversations by last activity, with bot name and last message
//   PATCH :id {status} -> archive / restore
// `:id` is the conversation's id, or the id its channel knows. The document's "per user" rate limits count
// per API key: the key is who is calling.

export const RATE_LIMITS = { history: 100, list: 30 } as const;
const PREFIXES = ["/api/conversations", "/conversations"];

export interface GeneralBotsDeps {
  hub: HubDeps;
  keys: KeyRing;
}

export function createGeneralBotsChannel(deps: GeneralBotsDeps): Channel {
  const routes = Router();
  routes.post("/start", (req, res) => start(deps.hub, req, res));
  routes.post("/:id/messages", (req, res) => sendMessage(deps.hub, req, res));
  routes.get("/:id/history", (req, res) => history(deps.hub, req, res));
  routes.get("/", (req, res) => list(deps.hub, req, res));
  routes.patch("/:id", (req, res) => update(deps.hub, req, res));

  const api = Router();
  api.use(PREFIXES, ...jsonBody("256kb"), requireKey(deps.keys), routes);
  api.use(
    PREFIXES,
    errorHandler(renderGeneralBotsError, (err) => deps.hub.logger.error({ err }, "General Bots API failed")),
  );
  return { name: "generalbots", routers: [api] };
}

function parse<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw invalid(what, fieldIssues(parsed.error.issues));
  return parsed.data;
}

const rateKey = (res: Response) => `${principal(res).orgId}:key:${principal(res).keyId}`;

async function conversationOf(hub: HubDeps, res: Response, ref: string) {
  const { orgId } = principal(res);
  const found = await findConversation(hub.prisma, orgId, ref);
  if (found) return found;
  if (await existsInAnotherOrg(hub.prisma, orgId, ref)) throw new HubError(403, "forbidden", "No access to conversation");
  throw notFound("Conversation");
}

async function start(hub: HubDeps, req: Request, res: Response) {
  const body = parse(startRequest, req.body, "Invalid conversation");
  const { orgId, keyId } = principal(res);
  const bot = await findAssistant(hub.prisma, orgId, body.bot_id);
  if (!bot?.deployed) throw new HubError(404, "not_found", `Bot ${body.bot_id} not found or not deployed`);
  // With an Idempotency-Key a retried start finds the conversation it made; without, the new conversation's
  // channel id is its own id, so the ask API and this one name it alike.
  const idem = idempotencyKey(req);
  const key = idem ?? randomUUID();
  const conversation = await openConversation(hub.prisma, { orgId, key, id: idem ? undefined : key, channel: "api", assistantId: bot.id });
  const session = await firstSession(hub.prisma, conversation.id, { assistantId: bot.id });
  if (body.initial_message) {
    await accept(hub, {
      orgId,
      channel: conversation.channel,
      conversationKey: conversation.externalId,
      assistant: { ref: bot.id },
      externalId: "initial_message",
      role: "user",
      content: body.initial_message,
      sessionId: session.id,
      rateKey: `key:${keyId}`,
    });
  }
  const out: z.output<typeof startResponse> = { conversation_id: conversation.id, session_id: session.id, status: "active" };
  res.status(201).json(out);
}

async function sendMessage(hub: HubDeps, req: Request, res: Response) {
  const { id } = parse(idParam, req.params, "Invalid conversation id");
  const body = parse(messageRequest, req.body, "Malformed message content");
  const conversation = await conversationOf(hub, res, id);
  const accepted = await accept(hub, {
    orgId: conversation.orgId,
    channel: conversation.channel,
    conversationKey: conversation.externalId,
    assistant: { ref: conversation.assistantId ?? DEFAULT_ASSISTANT },
    externalId: idempotencyKey(req),
    role: "user",
    content: body.content,
    attachments: body.attachments.map((a) => ({ url: a.url, contentType: a.content_type, name: a.name })),
    rateKey: `key:${principal(res).keyId}`,
  });
  const delivered = accepted.queued || accepted.message.status !== "pending";
  const out: z.output<typeof messageResponse> = {
    message_id: accepted.message.id,
    timestamp: accepted.message.createdAt.toISOString(),
    status: delivered ? "delivered" : "pending",
  };
  res.status(accepted.duplicate ? 200 : delivered ? 201 : 202).json(out);
}

async function history(hub: HubDeps, req: Request, res: Response) {
  await hub.limiter.take("history", rateKey(res), RATE_LIMITS.history);
  const { id } = parse(idParam, req.params, "Invalid conversation id");
  const query = parse(historyQuery, req.query, "Invalid query");
  const conversation = await conversationOf(hub, res, id);
  const page = await pageHistory(hub.prisma, conversation.id, query);
  const out: z.output<typeof historyResponse> = {
    messages: page.messages.map((m) => ({
      id: m.id,
      sender: m.role === "assistant" ? "bot" : (m.role as "user" | "system"),
      content: m.content,
      timestamp: m.createdAt.toISOString(),
      ...authorField(m),
    })),
    has_more: page.hasMore,
  };
  res.json(out);
}

async function list(hub: HubDeps, req: Request, res: Response) {
  await hub.limiter.take("list", rateKey(res), RATE_LIMITS.list);
  const query = parse(listQuery, req.query, "Invalid query");
  const { orgId } = principal(res);
  let assistantId: string | undefined;
  if (query.bot_id) {
    const bot = await findAssistant(hub.prisma, orgId, query.bot_id);
    // No such bot: no conversation is with it.
    if (!bot) return res.json({ conversations: [], total: 0 } satisfies z.output<typeof listResponse>);
    assistantId = bot.id;
  }
  const { rows, total } = await listWithLastMessage(hub.prisma, {
    orgId,
    status: query.status,
    assistantId,
    limit: query.limit,
    offset: query.offset,
  });
  const out: z.output<typeof listResponse> = {
    conversations: rows.map((c) => ({
      id: c.id,
      bot_id: c.assistantId,
      bot_name: c.assistantName,
      last_message: c.lastMessage,
      last_activity: new Date(c.lastActivityAt).toISOString(),
      status: c.status as "active" | "archived",
    })),
    total,
  };
  res.json(out);
}

async function update(hub: HubDeps, req: Request, res: Response) {
  const { id } = parse(idParam, req.params, "Invalid conversation id");
  const { status } = parse(updateRequest, req.body, "Invalid conversation");
  const conversation = await conversationOf(hub, res, id);
  const updated = await hub.prisma.conversation.update({
    where: { id: conversation.id },
    data: { status, archivedAt: status === "archived" ? (conversation.archivedAt ?? new Date()) : null },
  });
  const out: z.output<typeof updateResponse> = { id: updated.id, status, archived_at: updated.archivedAt?.toISOString() ?? null };
  res.json(out);
}
