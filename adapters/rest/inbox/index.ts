import { type Response, Router } from "express";
import type { z } from "zod";
import type { KeyRing } from "../../../src/auth/keys";
import type { OperatorSessions } from "../../../src/auth/operators";
import type { ReplyBus } from "../../../src/bus";
import type { ChannelRegistry } from "../../../src/channels";
import { findConversation } from "../../../src/conversation-reads";
import type { Db } from "../../../src/db/database";
import { fieldIssues, HubError, invalid, notFound } from "../../../src/errors";
import type { Conversation } from "../../../src/generated/prisma/client";
import {
  type HandoffSettings,
  handoffMessageOf,
  handoffView,
  release,
  requestHandoff,
  takeOver,
  transcriptSummary,
} from "../../../src/handoff";
import { eventOf, type HandoffEvent } from "../../../src/handoff-turns";
import { caller, requireKeyOrOperator } from "../../../src/http/auth";
import { errorHandler, jsonBody } from "../../../src/http/body";
import { renderManagementError } from "../../../src/http/management-error";
import { listInbox } from "../../../src/inbox";
import type { Logger } from "../../../src/logger";
import { operatorMessageRequest, postOperatorMessage } from "./messages";
import { handoffBody, type inboxConversation, inboxQuery, takeoverBody } from "./schema";

// The operator inbox: an org's conversations by handoff state, and the handoff, takeover and release of one.
// Each change of state is one conditional UPDATE (src/handoff.ts): of two operators taking a conversation, one
// gets 409. A conversation of another org is a 404, as one that does not exist.

export interface InboxDeps {
  prisma: Db;
  keys: KeyRing;
  /** The console's operators, signed in with a cookie: they use this API as a key does, in their own org. */
  sessions: OperatorSessions;
  bus: ReplyBus;
  channels: ChannelRegistry;
  handoff: HandoffSettings;
  onHandoff?: (event: HandoffEvent) => Promise<void>;
  logger: Logger;
}

const PATH = "/api/inbox";

export function createInboxApi(deps: InboxDeps): Router {
  const { prisma } = deps;
  const api = Router();
  api.use(PATH, ...jsonBody("64kb"), requireKeyOrOperator(deps.keys, deps.sessions));

  api.get(PATH, async (req, res) => {
    const q = parse(inboxQuery, req.query);
    const state = q.state === "all" ? undefined : q.state;
    const { rows, total } = await listInbox(prisma, { orgId: caller(res).orgId, state, limit: q.limit, offset: q.offset });
    res.json({ conversations: rows.map(viewRow), total, limit: q.limit, offset: q.offset });
  });

  // An operator who writes has the conversation: from then on the assistant leaves its user's messages to
  // people (a bot answering after an agent did, Chatwoot #4410, is what this prevents). A conversation another
  // operator has stays theirs; a message refused for its body takes nothing.
  api.post(
    `${PATH}/:conversationId/messages`,
    async (req, res, next) => {
      const body = operatorMessageRequest.safeParse(req.body ?? {});
      const current = await conversationOf(prisma, res, req.params.conversationId);
      if (body.success && current.handoffState !== "human") {
        const taken = await takeOver(prisma, current.id, body.data.author ?? (await callerName(prisma, res)));
        if (taken) await deps.onHandoff?.(eventOf("handoff.taken", taken));
      }
      next();
    },
    postOperatorMessage(deps),
  );

  api.post(`${PATH}/:conversationId/handoff`, async (req, res) => {
    const { reason } = parse(handoffBody, req.body);
    const current = await conversationOf(prisma, res, req.params.conversationId);
    const summary = await transcriptSummary(prisma, current.id);
    const content = await handoffMessageOf(prisma, current.assistantId, deps.handoff);
    const handoff = { reason: reason ?? "requested through the API", summary };
    const moved = await requestHandoff(prisma, current.id, handoff, { content, ...(await deps.channels.outboundOf(current.id)) });
    if (!moved) throw conflict(`The conversation is ${await stateOf(prisma, current.id)} already`);
    // Stored: should the send fail (Redis away), the outbox delivers it, and a socket that resumes reads it.
    await deps.channels.send(moved.message, moved.conversation.orgId).catch(() => {});
    await changed(deps, "handoff.requested", moved.conversation, res);
  });

  api.post(`${PATH}/:conversationId/takeover`, async (req, res) => {
    const { operator } = parse(takeoverBody, req.body);
    const current = await conversationOf(prisma, res, req.params.conversationId);
    const assignee = operator ?? (await callerName(prisma, res));
    const taken = await takeOver(prisma, current.id, assignee);
    if (!taken) {
      const now = await prisma.conversation.findUnique({ where: { id: current.id }, select: { handoffAssignee: true } });
      throw conflict(`The conversation was taken by ${now?.handoffAssignee ?? "another operator"}`);
    }
    await changed(deps, "handoff.taken", taken, res);
  });

  api.post(`${PATH}/:conversationId/release`, async (req, res) => {
    const current = await conversationOf(prisma, res, req.params.conversationId);
    const released = await release(prisma, current.id);
    if (!released) throw conflict("The conversation is with the assistant already");
    await changed(deps, "handoff.released", released, res);
  });

  api.use(
    PATH,
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "inbox API failed")),
  );
  return api;
}

async function changed(deps: InboxDeps, type: HandoffEvent["type"], c: Conversation, res: Response) {
  await deps.onHandoff?.(eventOf(type, c));
  res.json(view(c));
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw invalid("Invalid request", fieldIssues(parsed.error.issues));
  return parsed.data;
}

async function conversationOf(prisma: Db, res: Response, ref: string | string[] | undefined): Promise<Conversation> {
  const found = typeof ref === "string" ? await findConversation(prisma, caller(res).orgId, ref) : null;
  if (!found) throw notFound("Conversation");
  return found;
}

const stateOf = async (prisma: Db, id: string) =>
  (await prisma.conversation.findUnique({ where: { id }, select: { handoffState: true } }))?.handoffState ?? "gone";

/** Who an operator is when they do not say: the console's operator's email, or the name of the API key. */
const callerName = async (prisma: Db, res: Response) => {
  const { operator, keyId } = caller(res);
  if (operator) return operator.email;
  return (await prisma.apiKey.findUniqueOrThrow({ where: { id: keyId }, select: { name: true } })).name;
};

const conflict = (message: string) => new HubError(409, "conflict", message);

const view = (c: Conversation): z.output<typeof inboxConversation> => handoffView(c);

function viewRow(r: Awaited<ReturnType<typeof listInbox>>["rows"][number]): z.output<typeof inboxConversation> {
  const last = r.lastMessage;
  return {
    id: r.id,
    externalId: r.externalId,
    channel: r.channel,
    state: r.state,
    waitingSince: r.waitingSince ? new Date(r.waitingSince).toISOString() : null,
    assignee: r.assignee,
    reason: r.reason,
    summary: r.summary,
    lastMessage: last ? { ...last, createdAt: new Date(last.createdAt).toISOString() } : null,
    lastActivityAt: new Date(r.lastActivityAt).toISOString(),
  };
}
