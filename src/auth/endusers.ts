import { randomBytes } from "node:crypto";
import { decodeJwt, jwtVerify, SignJWT } from "jose";
import type { Db } from "../db/database";

// End-user tokens: a JWT (HS256) an integrator's backend signs with its org's end-user secret for a user
// who is logged in on its site, so the widget talks for that user without any hub credential in the page.
// Claims: `sub` the user id (required), `exp` (required, seconds), `org_id` (which org's secret signed it;
// the default org when absent). Only HS256 is accepted, so a token cannot choose a weaker algorithm (or none).

export interface EndUserClaims {
  sub: string;
  exp: number;
  org_id?: string;
  [claim: string]: unknown;
}

/** What a token must also satisfy, from config: `aud` and `iss` when set, and how late its `exp` may be. */
export interface EndUserTokenRules {
  audience?: string;
  issuer?: string;
  clockToleranceSeconds?: number;
}

const key = (secret: string) => new TextEncoder().encode(secret);

export async function signEndUserToken(secret: string, claims: EndUserClaims): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key(secret));
}

export const looksLikeJwt = (credential: string) => credential.split(".").length === 3;

/** The payload without checking the signature: only to learn which org's secret to check it with. */
export function unverifiedClaims(token: string): Partial<EndUserClaims> | null {
  try {
    return decodeJwt(token) as Partial<EndUserClaims>;
  } catch {
    return null;
  }
}

/** The claims when the token is signed with `secret`, HS256, unexpired, meets `rules` and names a user; null otherwise. */
export async function verifyEndUserToken(secret: string, token: string, rules: EndUserTokenRules = {}): Promise<EndUserClaims | null> {
  try {
    const { payload } = await jwtVerify<EndUserClaims>(token, key(secret), {
      algorithms: ["HS256"],
      requiredClaims: ["sub", "exp"],
      audience: rules.audience,
      issuer: rules.issuer,
      clockTolerance: rules.clockToleranceSeconds ?? 0,
    });
    return typeof payload.sub === "string" && payload.sub && payload.sub.length <= 200 ? payload : null;
  } catch {
    return null;
  }
}

/** Sets the org's end-user secret (a new random one unless given) and returns it: shown to the caller once. */
export async function setEndUserSecret(prisma: Db, orgId: string, secret = randomBytes(32).toString("base64url")): Promise<string> {
  await prisma.org.update({ where: { id: orgId }, data: { jwtSecret: secret } });
  return secret;
}
