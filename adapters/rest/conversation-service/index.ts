import { randomUUID } from "node:crypto";
import { type NextFunction, type Request, type Response, Router } from "express";
import type { z } from "zod";
import { findAssistant } from "../../../src/assistants/store";
import type { KeyRing } from "../../../src/auth/keys";
import type { ReplyBus } from "../../../src/bus";
import type { Channel } from "../../../src/channels";
import { messagesFrom } from "../../../src/conversation-reads";
import { authorField } from "../../../src/conversations";
import { HubError, notFound } from "../../../src/errors";
import type { ChatSession, Conversation, Message } from "../../../src/generated/prisma/client";
import { principal, requireKey } from "../../../src/http/auth";
import { errorHandler, jsonBody } from "../../../src/http/body";
import type { HubDeps } from "../../../src/hub";
import { addSession, openConversation } from "../../../src/sessions";
import type { Citation } from "../../../src/types";
import { parse, renderConversationServiceError } from "./errors";
import {
  type chatSession,
  type conversation,
  conversationQuery,
  createRequest,
  createSessionRequest,
  listQuery,
  type message,
  messagesQuery,
  orgQuery,
} from "./schema";
import { streamChat } from "./stream";

// The Conversation Service (seed 004) over the hub's store:
//   create {title, is_archived}        -> a conversation (channel "api"; its channel id is its own id)
//   create_session {conversation_id, model_id} -> a chat session whose assistant is the model_id (id or name)
//   stream_chat {chat_session_id, message}     -> accept() a user turn in that session; SSE as it is answered
//   list / get_with_sessions / messages        -> reads of the store, paged by the database
// `org_id` must be the key's org: the service is org-scoped and the key already names the org.

export interface ConversationServiceDeps {
  hub: HubDeps;
  keys: KeyRing;
  bus: ReplyBus;
  streamTimeoutMs: number;
}

const BASE = "/api/conversation";

export function createConversationServiceChannel(deps: ConversationServiceDeps): Channel {
  const { prisma } = deps.hub;
  const routes = Router();
  routes.post("/create", async (req, res) => {
    const body = parse(createRequest, req.body);
    const id = randomUUID();
    const orgId = principal(res).orgId;
    const created = await openConversation(prisma, { orgId, key: id, id, channel: "api", title: body.title, archived: body.is_archived });
    res.status(201).json(conversationView(created));
  });
  routes.post("/create_session", async (req, res) => {
    const body = parse(createSessionRequest, req.body);
    const found = await conversationOf(deps.hub, res, body.conversation_id);
    const model = await findAssistant(prisma, found.orgId, body.model_id);
    if (!model?.deployed) throw notFound("Model");
    const session = await addSession(prisma, found.id, { assistantId: model.id, modelId: body.model_id });
    res.status(201).json(sessionView(session));
  });
  routes.post("/stream_chat", (req, res) => streamChat(deps, req, res));
  routes.get("/list", async (req, res) => {
    const { limit, offset } = parse(listQuery, req.query);
    const where = { orgId: principal(res).orgId };
    const [rows, total] = await Promise.all([
      prisma.conversation.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], skip: offset, take: limit }),
      prisma.conversation.count({ where }),
    ]);
    res.set("X-Total-Count", String(total)).json(rows.map(conversationView));
  });
  routes.get("/get_with_sessions", async (req, res) => {
    const query = parse(conversationQuery, req.query);
    const found = await conversationOf(deps.hub, res, query.conversation_id);
    const sessions = await prisma.chatSession.findMany({ where: { conversationId: found.id }, orderBy: { createdAt: "asc" } });
    res.json({ ...conversationView(found), chat_sessions: sessions.map(sessionView) });
  });
  routes.get("/messages", async (req, res) => {
    const query = parse(messagesQuery, req.query);
    const found = await conversationOf(deps.hub, res, query.conversation_id);
    const rows = await messagesFrom(prisma, found.id, query.limit, query.offset);
    res.json(rows.map(messageView));
  });

  const api = Router();
  api.use(BASE, ...jsonBody("256kb"), requireKey(deps.keys), requireOrg, routes);
  api.use(
    BASE,
    errorHandler(renderConversationServiceError, (err) => deps.hub.logger.error({ err }, "Conversation Service API failed")),
  );
  return { name: "conversation-service", routers: [api] };
}

/** Every call names its org; it must be the key's. */
function requireOrg(req: Request, res: Response, next: NextFunction) {
  const { org_id } = parse(orgQuery, req.query);
  if (org_id !== principal(res).orgId) throw new HubError(403, "forbidden", "Forbidden: org_id is not the organization of this API key");
  next();
}

/** A conversation of the key's org by id; any other (another org's included) does not exist here. */
async function conversationOf(hub: HubDeps, res: Response, id: string): Promise<Conversation> {
  const found = await hub.prisma.conversation.findFirst({ where: { id, orgId: principal(res).orgId } });
  if (!found) throw notFound("Conversation");
  return found;
}

const conversationView = (c: Conversation): z.output<typeof conversation> => ({
  id: c.id,
  title: c.title,
  is_archived: c.status === "archived",
  created_at: c.createdAt.toISOString(),
  updated_at: c.updatedAt.toISOString(),
});

const sessionView = (s: ChatSession): z.output<typeof chatSession> => ({
  id: s.id,
  conversation_id: s.conversationId,
  model_id: s.modelId ?? s.assistantId,
  status: s.status,
  created_at: s.createdAt.toISOString(),
  updated_at: s.updatedAt.toISOString(),
});

const messageView = (m: Message): z.output<typeof message> => ({
  id: m.id,
  conversation_id: m.conversationId,
  chat_session_id: m.sessionId,
  role: m.role as z.output<typeof message>["role"],
  content: m.content,
  created_at: m.createdAt.toISOString(),
  citations: m.citations as unknown as Citation[],
  ...authorField(m),
});
