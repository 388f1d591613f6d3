import { createApiKey } from "./auth/keys";
import type { Db } from "./db/database";

export const DEFAULT_ASSISTANT = "default";

const defaultOrgs = new WeakMap<Db, Promise<string>>();

/**
 * The default org's id, read once per database: it is created at the first start and never changes. Its
 * keys are the operator's (the queue dashboard, assigning the hub's Twilio numbers to orgs).
 */
export function defaultOrgId(prisma: Db): Promise<string> {
  let found = defaultOrgs.get(prisma);
  if (!found) {
    found = prisma.org.findFirstOrThrow({ where: { isDefault: true }, select: { id: true } }).then((o) => o.id);
    // A database away at that moment is asked again next time.
    found.catch(() => defaultOrgs.delete(prisma));
    defaultOrgs.set(prisma, found);
  }
  return found;
}

/**
 * First start: a default org with a deployed assistant named `default`; with BOOTSTRAP_API_KEY, a key with
 * exactly that secret for the default org. Every statement is idempotent, so it runs at each start and in
 * several processes at once.
 */
export async function bootstrap(prisma: Db, bootstrapKey?: string): Promise<{ orgId: string }> {
  await prisma.$executeRaw`
    INSERT INTO orgs (id, name, is_default) VALUES (gen_random_uuid(), 'Default', true) ON CONFLICT DO NOTHING`;
  const org = await prisma.org.findFirstOrThrow({ where: { isDefault: true } });
  await prisma.$executeRaw`
    INSERT INTO assistants (id, org_id, name, description, instructions, updated_at)
    VALUES (gen_random_uuid(), ${org.id}::uuid, ${DEFAULT_ASSISTANT}, 'The default assistant',
            'Answer from the knowledge folders; say so when they do not cover the question.', now())
    ON CONFLICT (org_id, name) DO NOTHING`;
  if (bootstrapKey) await createApiKey(prisma, org.id, "bootstrap", bootstrapKey);
  return { orgId: org.id };
}
