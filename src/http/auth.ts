import type { NextFunction, Request, Response } from "express";
import { bearer, type KeyRing, type Principal } from "../auth/keys";
import { unauthorized } from "../errors";

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
