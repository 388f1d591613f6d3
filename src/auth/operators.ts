import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Db } from "../db/database";
import { HubError, invalid } from "../errors";
import { hashSecret } from "./keys";
import { hashPassword, UNUSABLE_HASH, verifyPassword } from "./passwords";

// Operators: the people of an org who use the console (issue #15), with an email and a password, and a role:
// `admin` also adds and removes the org's operators; `agent` works the inbox. Their sessions are random
// tokens in a cookie, stored as sha256 only (a database read does not yield a usable cookie), with a sliding
// expiry: each use moves it on, at most once a minute so a busy console is not a write per request.

export const OPERATOR_ROLES = ["admin", "agent"] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export const operatorEmail = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());
export const operatorPassword = z.string().min(10, "the password needs at least 10 characters").max(200);

/** Who a console request comes from. */
export interface OperatorIdentity {
  id: string;
  orgId: string;
  email: string;
  role: OperatorRole;
  sessionId: string;
}

const SLIDE_EVERY_MS = 60_000;

export async function createOperator(prisma: Db, o: { orgId: string; email: string; password: string; role: OperatorRole }) {
  const email = checked(operatorEmail, o.email, "email");
  checked(operatorPassword, o.password, "password");
  try {
    return await prisma.operator.create({
      data: { orgId: o.orgId, email, role: o.role, passwordHash: await hashPassword(o.password) },
      select: { id: true, orgId: true, email: true, role: true, createdAt: true },
    });
  } catch (err) {
    if ((err as { code?: string }).code === "P2002") throw new HubError(409, "conflict", `An operator with the email ${email} exists`);
    throw err;
  }
}

export class OperatorSessions {
  constructor(
    private prisma: Db,
    private ttlMs: number,
  ) {}

  /**
   * A new session for the email's operator if the password is theirs; null otherwise, the same for an unknown
   * email as for a wrong password, and in about the same time (a password is checked either way).
   */
  async login(email: string, password: string): Promise<{ token: string; operator: OperatorIdentity } | null> {
    const found = await this.prisma.operator.findUnique({ where: { email: email.toLowerCase() } });
    const ok = await verifyPassword(password, found?.passwordHash ?? UNUSABLE_HASH);
    if (!found || !ok) return null;
    const token = randomBytes(32).toString("base64url");
    // The operator's sessions that lapsed unused go as a new one starts: their rows do not pile up.
    await this.prisma.operatorSession.deleteMany({ where: { operatorId: found.id, expiresAt: { lt: new Date() } } });
    const session = await this.prisma.operatorSession.create({
      data: { operatorId: found.id, tokenHash: hashSecret(token), expiresAt: new Date(Date.now() + this.ttlMs) },
    });
    return { token, operator: identity(found, session.id) };
  }

  /** The operator of a live session, its expiry moved on; null for an unknown or expired token. */
  async authenticate(token: string): Promise<OperatorIdentity | null> {
    const session = await this.prisma.operatorSession.findUnique({ where: { tokenHash: hashSecret(token) }, include: { operator: true } });
    if (!session) return null;
    const now = Date.now();
    if (session.expiresAt.getTime() <= now) {
      await this.prisma.operatorSession.deleteMany({ where: { id: session.id } });
      return null;
    }
    if (now - session.lastSeenAt.getTime() > SLIDE_EVERY_MS)
      await this.prisma.operatorSession.updateMany({
        where: { id: session.id },
        data: { lastSeenAt: new Date(now), expiresAt: new Date(now + this.ttlMs) },
      });
    return identity(session.operator, session.id);
  }

  async logout(sessionId: string): Promise<void> {
    await this.prisma.operatorSession.deleteMany({ where: { id: sessionId } });
  }
}

const identity = (o: { id: string; orgId: string; email: string; role: string }, sessionId: string): OperatorIdentity => ({
  id: o.id,
  orgId: o.orgId,
  email: o.email,
  role: o.role as OperatorRole,
  sessionId,
});

function checked<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const message = `${field}: ${parsed.error.issues[0].message}`;
  throw invalid(message, [{ field, message }]);
}
