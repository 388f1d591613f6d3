import type { IncomingHttpHeaders } from "node:http";
import type { NextFunction, Request, Response } from "express";
import { bearer, type KeyRing, type Principal } from "../auth/keys";
import type { OperatorIdentity, OperatorSessions } from "../auth/operators";
import { HubError, unauthorized } from "../errors";

/** Requires `Authorization: Bearer <API key>`; the org it belongs to is `principal(res).orgId`. */
export function requireKey(keys: KeyRing) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const secret = bearer(req.headers.authorization);
    if (!secret) return next(unauthorized("Authentication required: send Authorization: Bearer <API key>"));
    const found = await keys.authenticate(secret);
    if (!found) return next(unauthorized("Invalid API key"));
    res.locals.principal = found;
    next();
  };
}

export const principal = (res: Response): Principal => res.locals.principal as Principal;

/** Who an operator API request comes from: an integrator's API key, or a person signed in to the console. */
export interface Caller {
  orgId: string;
  keyId?: string;
  operator?: OperatorIdentity;
}

export const caller = (res: Response): Caller =>
  res.locals.operator ? { orgId: res.locals.operator.orgId, operator: res.locals.operator } : principal(res);

/** The console's session cookie (see adapters/rest/console). */
export const CONSOLE_COOKIE = "hub_console";

export function cookieOf(headers: IncomingHttpHeaders, name: string): string | null {
  for (const part of (headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      // Malformed escapes are no cookie: thrown here, during a WebSocket upgrade, it would end the process.
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/**
 * Whether the request was made by a page of the hub itself: its Origin names the host it was sent to. What
 * keeps another site from using an operator's cookie (CSRF, cross-site WebSocket hijacking), on top of
 * SameSite=Strict: a request without Origin is refused too, as every browser sends one on these requests.
 */
export function sameOrigin(headers: IncomingHttpHeaders): boolean {
  if (!headers.origin || !URL.canParse(headers.origin)) return false;
  return new URL(headers.origin).host === headers.host;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** The operator of the request's console cookie, or null; a cross-site request that changes state is refused. */
export async function operatorOf(req: Request, sessions: OperatorSessions): Promise<OperatorIdentity | null> {
  const token = cookieOf(req.headers, CONSOLE_COOKIE);
  if (!token) return null;
  if (!SAFE.has(req.method) && !sameOrigin(req.headers)) throw new HubError(403, "forbidden", "Cross-site request refused");
  return sessions.authenticate(token);
}

/** An API key (as requireKey) or, without one, a console session cookie; `caller(res)` says which. */
export function requireKeyOrOperator(keys: KeyRing, sessions: OperatorSessions) {
  const byKey = requireKey(keys);
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.headers.authorization) return byKey(req, res, next);
    const operator = await operatorOf(req, sessions);
    if (!operator) return next(unauthorized("Authentication required: an API key, or sign in to the console"));
    res.locals.operator = operator;
    next();
  };
}

/**
 * After requireKeyOrOperator: what only an org's admin may do (its assistants, channels, end-user secret). A
 * console agent gets 403; an API key passes as before, since whoever holds one already manages the org.
 */
export function adminOnly(_req: Request, res: Response, next: NextFunction) {
  const operator = res.locals.operator as OperatorIdentity | undefined;
  if (operator && operator.role !== "admin") return next(new HubError(403, "forbidden", "Only an admin may do this"));
  next();
}
