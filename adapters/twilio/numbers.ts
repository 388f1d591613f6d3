import { Router } from "express";
import { z } from "zod";
import type { KeyRing } from "../../src/auth/keys";
import type { Db } from "../../src/db/database";
import { fieldIssues, invalid } from "../../src/errors";
import { principal, requireKey } from "../../src/http/auth";
import { errorHandler, jsonBody } from "../../src/http/body";
import type { Logger } from "../../src/logger";
import { bindNumber, listNumbers, unbindNumber } from "../../src/numbers";
import { renderManagementError } from "../rest/management/errors";

// The org's receiving numbers, in the management API's style (Bearer key, `{error, message, issues?}`):
//   GET /api/twilio/numbers                   the org's bindings
//   PUT /api/twilio/numbers/:number           {"assistant": "<id or name>"}: bind or rebind the number
//   DELETE /api/twilio/numbers/:number        unbind: the default org's `default` assistant answers again

const PATH = "/api/twilio/numbers";
const binding = z.strictObject({ assistant: z.string().trim().min(1).max(100) });

export function twilioNumbersApi(deps: { prisma: Db; keys: KeyRing; logger: Logger }): Router {
  const router = Router();
  router.use(PATH, ...jsonBody("16kb"), requireKey(deps.keys));
  router.get(PATH, async (_req, res) => {
    res.json({ numbers: await listNumbers(deps.prisma, principal(res).orgId) });
  });
  router.put(`${PATH}/:number`, async (req, res) => {
    const parsed = binding.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid("Invalid binding", fieldIssues(parsed.error.issues));
    res.json(await bindNumber(deps.prisma, principal(res).orgId, String(req.params.number), parsed.data.assistant));
  });
  router.delete(`${PATH}/:number`, async (req, res) => {
    await unbindNumber(deps.prisma, principal(res).orgId, String(req.params.number));
    res.status(204).end();
  });
  router.use(
    PATH,
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "twilio numbers API failed")),
  );
  return router;
}
