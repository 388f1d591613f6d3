import type { IncomingMessage } from "node:http";
import { findAssistant, isUuid } from "../../src/assistants/store";
import { type EndUserTokenRules, looksLikeJwt, unverifiedClaims, verifyEndUserToken } from "../../src/auth/endusers";
import { bearer, type KeyRing } from "../../src/auth/keys";
import { DEFAULT_ASSISTANT } from "../../src/bootstrap";
import type { Db } from "../../src/db/database";
import { HubError, notFound, unauthorized } from "../../src/errors";
import type { Visitor } from "./sessions";

// Who is on the other end of a socket, from the upgrade request. Browsers cannot set headers on a
// WebSocket, so credentials come as `?token=` (an end-user JWT); servers may send `Authorization: Bearer`
// with an end-user token or an API key (then `?user_id=` names the user it acts for). No credential:
// an anonymous visitor of `?org=` (default: the default org).

/** Browser origins that may connect: none (not a browser), the hub's own, or one the operator allowed. */
export function originAllowed(req: IncomingMessage, allowed: string[]): boolean {
  const origin = req.headers.origin;
  if (!origin || allowed.includes("*") || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** What a connecting client presents, copied off the upgrade request: a socket lives long, its request need not. */
export interface Credentials {
  token: string | null;
  authorization: string | undefined;
  org: string | null;
  userId: string | null;
}

export const credentialsOf = (req: IncomingMessage, query: URLSearchParams): Credentials => ({
  token: query.get("token"),
  authorization: req.headers.authorization,
  org: query.get("org"),
  userId: query.get("user_id"),
});

export async function identify(prisma: Db, keys: KeyRing, rules: EndUserTokenRules, c: Credentials): Promise<Visitor> {
  const credential = c.token || bearer(c.authorization);
  if (!credential) return { orgId: await orgFor(prisma, c.org), userId: null };
  if (looksLikeJwt(credential)) return endUser(prisma, rules, credential);
  const key = await keys.authenticate(credential);
  if (!key) throw unauthorized("Invalid API key");
  const userId = c.userId?.slice(0, 200) || `key:${key.keyId}`;
  return { orgId: key.orgId, userId, integrator: true };
}

async function endUser(prisma: Db, rules: EndUserTokenRules, token: string): Promise<Visitor> {
  const orgClaim = unverifiedClaims(token)?.org_id;
  const org = await findOrg(prisma, typeof orgClaim === "string" ? orgClaim : null);
  const claims = org?.jwtSecret ? await verifyEndUserToken(org.jwtSecret, token, rules) : null;
  if (!org || !claims) throw unauthorized("Invalid or expired end-user token");
  return { orgId: org.id, userId: claims.sub };
}

async function orgFor(prisma: Db, asked: string | null): Promise<string> {
  const org = await findOrg(prisma, asked);
  if (!org) throw notFound("Org");
  return org.id;
}

/** The org named, or the default org when none is; null when the name is no org. */
async function findOrg(prisma: Db, id: string | null) {
  if (id === null) return prisma.org.findFirst({ where: { isDefault: true } });
  return isUuid(id) ? prisma.org.findUnique({ where: { id } }) : null;
}

/** Checks that the visitor may talk to `ref`: any deployed assistant of the org for a user, the default one for anonymous visitors. */
export async function allowedAssistant(prisma: Db, visitor: Visitor, ref: string): Promise<void> {
  const found = await findAssistant(prisma, visitor.orgId, ref);
  if (!found?.deployed) throw notFound("Assistant");
  if (!visitor.userId && found.name !== DEFAULT_ASSISTANT) {
    throw new HubError(403, "forbidden", "Anonymous visitors may talk only to the default assistant; sign in for the others");
  }
}
