import { Router } from "express";
import { z } from "zod";
import type { Db } from "../../../src/db/database";
import { principal } from "../../../src/http/auth";

/** What a key's holder needs to call the org-scoped APIs: its org (the Conversation Service's `org_id`). */
export const meResponse = z.object({ org_id: z.string(), org_name: z.string(), key_id: z.string(), key_name: z.string() });

export function meRoutes(prisma: Db): Router {
  const router = Router();
  router.get("/api/me", async (_req, res) => {
    const { keyId } = principal(res);
    const key = await prisma.apiKey.findUniqueOrThrow({ where: { id: keyId }, include: { org: true } });
    const out: z.output<typeof meResponse> = { org_id: key.orgId, org_name: key.org.name, key_id: key.id, key_name: key.name };
    res.json(out);
  });
  return router;
}
