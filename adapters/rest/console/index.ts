import { type NextFunction, type Request, type Response, Router } from "express";
import type { z } from "zod";
import type { KeyRing } from "../../../src/auth/keys";
import { createOperator, type OperatorIdentity, type OperatorSessions } from "../../../src/auth/operators";
import { findConversation } from "../../../src/conversation-reads";
import { authorField } from "../../../src/conversations";
import type { Db } from "../../../src/db/database";
import { fieldIssues, HubError, invalid, notFound, unauthorized } from "../../../src/errors";
import type { Message } from "../../../src/generated/prisma/client";
import { handoffView } from "../../../src/handoff";
import { CONSOLE_COOKIE, caller, operatorOf, requireKeyOrOperator, sameOrigin } from "../../../src/http/auth";
import { errorHandler, jsonBody } from "../../../src/http/body";
import { renderManagementError } from "../../../src/http/management-error";
import type { Logger } from "../../../src/logger";
import type { RateLimiter } from "../../../src/ratelimit";
import { loginBody, newOperatorBody, type transcript, type transcriptMessage } from "./schema";

// The console's API (issue #15): operators sign in with email and password and get a session cookie, which the
// inbox's API and /ws/operators take as they take an API key. CSRF: the cookie is SameSite=Strict (another
// site's requests do not carry it), and every state-changing request with it must come with the hub's own
// Origin (src/http/auth.ts), so neither a cross-site form nor a same-site page on another port acts as the
// operator. An admin manages the org's operators; an agent gets 403 there.

export interface ConsoleDeps {
  prisma: Db;
  keys: KeyRing;
  sessions: OperatorSessions;
  limiter: RateLimiter;
  loginsPerEmail: number;
  loginsPerAddress: number;
  logger: Logger;
}

const PATH = "/api/console";
const TRANSCRIPT_MESSAGES = 200;

export function createConsoleApi(deps: ConsoleDeps): Router {
  const { prisma, sessions } = deps;
  const api = Router();
  api.use(PATH, ...jsonBody("16kb"));
  const signedIn = requireOperator(sessions);
  const admin = requireOperator(sessions, "admin");

  api.post(`${PATH}/login`, async (req, res) => {
    // Login CSRF (signing a victim in as the attacker) is refused like any cross-site request; a client
    // that is not a browser sends no Origin.
    if (req.headers.origin && !sameOrigin(req.headers)) throw forbidden("Cross-site request refused");
    const { email, password } = parse(loginBody, req.body);
    await deps.limiter.take("console-login-email", email.toLowerCase(), deps.loginsPerEmail);
    await deps.limiter.take("console-login-address", req.ip ?? "unknown", deps.loginsPerAddress);
    const signed = await sessions.login(email, password);
    if (!signed) throw unauthorized("Wrong email or password");
    // A browser-session cookie: the server's sliding expiry decides how long it works.
    res.cookie(CONSOLE_COOKIE, signed.token, { httpOnly: true, sameSite: "strict", secure: req.secure, path: "/" });
    res.json({ operator: operatorView(signed.operator) });
  });

  api.post(`${PATH}/logout`, signedIn, async (_req, res) => {
    await sessions.logout(me(res).sessionId);
    res.clearCookie(CONSOLE_COOKIE, { httpOnly: true, sameSite: "strict", path: "/" });
    res.status(204).end();
  });

  api.get(`${PATH}/me`, signedIn, (_req, res) => {
    res.json({ operator: operatorView(me(res)) });
  });

  api.get(`${PATH}/operators`, admin, async (_req, res) => {
    const rows = await prisma.operator.findMany({ where: { orgId: me(res).orgId }, orderBy: { email: "asc" } });
    res.json({ operators: rows.map(operatorView) });
  });

  api.post(`${PATH}/operators`, admin, async (req, res) => {
    const body = parse(newOperatorBody, req.body);
    const created = await createOperator(prisma, { ...body, orgId: me(res).orgId });
    res.status(201).json(operatorView(created));
  });

  api.delete(`${PATH}/operators/:operatorId`, admin, async (req, res) => {
    const id = String(req.params.operatorId);
    if (id === me(res).id) throw new HubError(409, "conflict", "An operator cannot remove themselves");
    // Another org's operator, or a malformed id, is not found, as one that does not exist.
    const removed = /^[0-9a-f-]{36}$/i.test(id) ? await prisma.operator.deleteMany({ where: { id, orgId: me(res).orgId } }) : { count: 0 };
    if (!removed.count) throw notFound("Operator");
    res.status(204).end();
  });

  api.get(`${PATH}/conversations/:conversationId`, requireKeyOrOperator(deps.keys, sessions), async (req, res) => {
    const found = await findConversation(prisma, caller(res).orgId, String(req.params.conversationId));
    if (!found) throw notFound("Conversation");
    const rows = await prisma.message.findMany({
      where: { conversationId: found.id },
      orderBy: { seq: "desc" },
      take: TRANSCRIPT_MESSAGES,
    });
    const body: z.output<typeof transcript> = {
      conversation: handoffView(found),
      messages: rows.reverse().map(messageView),
    };
    res.json(body);
  });

  api.use(
    PATH,
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "console API failed")),
  );
  return api;
}

/** A signed-in operator (of `role`, if given) for the routes after it: `me(res)`. */
function requireOperator(sessions: OperatorSessions, role?: OperatorIdentity["role"]) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const operator = await operatorOf(req, sessions);
    if (!operator) return next(unauthorized("Sign in to the console"));
    if (role && operator.role !== role) return next(forbidden(`Only an ${role} may do this`));
    res.locals.operator = operator;
    next();
  };
}

const me = (res: Response): OperatorIdentity => res.locals.operator;
const forbidden = (message: string) => new HubError(403, "forbidden", message);

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw invalid("Invalid request", fieldIssues(parsed.error.issues));
  return parsed.data;
}

const operatorView = (o: { id: string; orgId: string; email: string; role: string; createdAt?: Date }) => ({
  id: o.id,
  orgId: o.orgId,
  email: o.email,
  role: o.role,
  ...(o.createdAt ? { createdAt: o.createdAt.toISOString() } : {}),
});

function messageView(m: Message): z.output<typeof transcriptMessage> {
  const operator = authorField(m).author;
  const kind = operator ? "operator" : (m.role as "user" | "assistant" | "system");
  const citations = Array.isArray(m.citations) ? (m.citations as { title?: string; heading?: string | null; url?: string | null }[]) : [];
  return {
    id: m.id,
    role: m.role,
    content: m.content,
    // What the outbox calls unsent is, to an operator, queued: stored, not yet taken by the provider.
    status: m.status === "unsent" ? "queued" : m.status,
    author: operator ? { kind, name: operator.name } : { kind },
    sources: citations.map((c) => ({ title: c.title, heading: c.heading ?? null, url: c.url ?? null })),
    error: m.error,
    createdAt: m.createdAt.toISOString(),
  };
}
