import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "../db/database";

// End-user tokens: a JWT (HS256) an integrator's backend signs with its org's end-user secret for a user
// who is logged in on its site, so the widget talks for that user without any hub credential in the page.
// Claims: `sub` the user id (required), `exp` (required, seconds), `org_id` (which org's secret signed it;
// the default org when absent). Only HS256 is accepted, so a token cannot choose a weaker algorithm.

export interface EndUserClaims {
  sub: string;
  exp: number;
  org_id?: string;
  [claim: string]: unknown;
}

const b64 = (data: string | Buffer) => Buffer.from(data).toString("base64url");
const HEADER = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));

export function signEndUserToken(secret: string, claims: EndUserClaims): string {
  const body = `${HEADER}.${b64(JSON.stringify(claims))}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

export const looksLikeJwt = (credential: string) => credential.split(".").length === 3;

/** The payload without checking the signature: only to learn which org's secret to check it with. */
export function unverifiedClaims(token: string): Partial<EndUserClaims> | null {
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** The claims when the token is signed with `secret`, HS256, unexpired and names a user; null otherwise. */
export function verifyEndUserToken(secret: string, token: string, nowMs = Date.now()): EndUserClaims | null {
  const [header, payload, signature] = token.split(".");
  if (!header || !payload || !signature) return null;
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let alg: unknown;
  try {
    alg = JSON.parse(Buffer.from(header, "base64url").toString("utf8")).alg;
  } catch {
    return null;
  }
  const claims = unverifiedClaims(token);
  if (alg !== "HS256" || !claims) return null;
  if (typeof claims.sub !== "string" || !claims.sub || claims.sub.length > 200) return null;
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= nowMs) return null;
  return claims as EndUserClaims;
}

/** Sets the org's end-user secret (a new random one unless given) and returns it: shown to the caller once. */
export async function setEndUserSecret(prisma: Db, orgId: string, secret = randomBytes(32).toString("base64url")): Promise<string> {
  await prisma.org.update({ where: { id: orgId }, data: { jwtSecret: secret } });
  return secret;
}
