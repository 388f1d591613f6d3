import { createApiKey } from "../../src/auth/keys";
import type { TestHub } from "./hub";

export interface TestOrg {
  orgId: string;
  key: string;
  /** hub.api with this org's key. */
  api: TestHub["api"];
}

/** Another org of the hub with a deployed `default` assistant and a key of its own: for isolation and fresh counts. */
export async function createTestOrg(hub: TestHub, name = "Other"): Promise<TestOrg> {
  const prisma = hub.runtime.db.prisma;
  const org = await prisma.org.create({ data: { name } });
  await prisma.assistant.create({ data: { orgId: org.id, name: "default" } });
  const { secret } = await createApiKey(prisma, org.id, "test");
  return {
    orgId: org.id,
    key: secret,
    api: (path, init = {}) => hub.api(path, { ...init, headers: { authorization: `Bearer ${secret}`, ...init.headers } }),
  };
}

/** A second key of an org, for tests that count its rate limits from zero. */
export async function freshKey(hub: TestHub, orgId: string): Promise<TestHub["api"]> {
  const { secret } = await createApiKey(hub.runtime.db.prisma, orgId, "fresh");
  return (path, init = {}) => hub.api(path, { ...init, headers: { authorization: `Bearer ${secret}`, ...init.headers } });
}

/** Rate limits count in one-minute windows: a test that fills one starts well inside a window. */
export async function clearOfMinuteBoundary(): Promise<void> {
  const second = new Date().getSeconds();
  if (second >= 50) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
}
