import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/database";
import { Kept } from "../kept";

export const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** A new API key secret: shown once to its creator, stored only as a hash. */
export function newKeySecret(): string {
  return `hub_${randomBytes(24).toString("base64url")}`;
}

export async function createApiKey(prisma: Db, orgId: string, name: string, secret = newKeySecret()) {
  const key = await prisma.apiKey.upsert({
    where: { hash: hashSecret(secret) },
    update: {},
    create: { orgId, name, hash: hashSecret(secret), prefix: secret.slice(0, 8) },
  });
  return { id: key.id, orgId: key.orgId, secret };
}

export interface Principal {
  orgId: string;
  keyId: string;
}

const CACHE_MS = 30_000;

/**
 * Looks up Bearer keys, caching each answer briefly so a hot path does not hit the database per request.
 * A revoked key stops working within CACHE_MS.
 */
export class KeyRing {
  private kept = new Kept<Principal | null>(CACHE_MS);

  constructor(private prisma: Db) {}

  authenticate(secret: string): Promise<Principal | null> {
    const hash = hashSecret(secret);
    return this.kept.get(hash, async () => {
      const key = await this.prisma.apiKey.findUnique({ where: { hash } });
      return key && !key.revokedAt ? { orgId: key.orgId, keyId: key.id } : null;
    });
  }
}

/** The secret of an `Authorization: Bearer <secret>` header, if there is one. */
export function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1] : null;
}
