import { type Response, Router } from "express";
import { z } from "zod";
import type { KeyRing } from "../../src/auth/keys";
import type { OperatorSessions } from "../../src/auth/operators";
import { defaultOrgId } from "../../src/bootstrap";
import type { Db } from "../../src/db/database";
import { fieldIssues, invalid } from "../../src/errors";
import { adminOnly, caller, requireKeyOrOperator } from "../../src/http/auth";
import { errorHandler, jsonBody } from "../../src/http/body";
import { renderManagementError } from "../../src/http/management-error";
import type { Logger } from "../../src/logger";
import { type Binder, bindNumber, listNumbers, type NumberRoutes, unbindNumber } from "./numbers";

// The org's receiving numbers, in the management API's style (Bearer key or a console admin's cookie,
// `{error, message, issues?}`):
//   GET /api/twilio/numbers                   the org's bindings (the operator's key: every org's)
//   PUT /api/twilio/numbers/:number           {"assistant": "<id or name>", "org_id"?, "reengagement_template"?}: bind
//                                             or rebind the number; the template ({content_sid, content_variables?},
//                                             or null for none) goes when a reply would fall outside WhatsApp's window
//   DELETE /api/twilio/numbers/:number        unbind: the default org's `default` assistant answers again
// The hub's numbers are assigned to orgs by the operator (a key of the default org, naming `org_id`); an org
// may rebind a number assigned to it to another of its assistants, or give it back (see numbers.ts).

const PATH = "/api/twilio/numbers";
export const contentSid = z.string().regex(/^HX[0-9a-f]{32}$/, "expected a Twilio Content SID (HX followed by 32 hex digits)");
export const contentVariables = z
  .record(z.string().max(20), z.string().max(1024))
  .refine((v) => Object.keys(v).length <= 100, "100 variables at most");
export const bindingRequest = z.strictObject({
  assistant: z.string().trim().min(1).max(100).describe("The assistant's id or name"),
  org_id: z.uuid().optional().describe("The org the number is assigned to (a key of the default org only)"),
  reengagement_template: z
    .strictObject({ content_sid: contentSid, content_variables: contentVariables.optional() })
    .nullable()
    .optional()
    .describe("The approved template sent when a reply would fall outside WhatsApp's 24-hour window (null removes it)"),
});

export function twilioNumbersApi(deps: {
  prisma: Db;
  keys: KeyRing;
  sessions: OperatorSessions;
  logger: Logger;
  routes: NumberRoutes;
}): Router {
  const router = Router();
  const binder = async (res: Response): Promise<Binder> => {
    const { orgId } = caller(res);
    return { orgId, operator: orgId === (await defaultOrgId(deps.prisma)) };
  };
  router.use(PATH, ...jsonBody("16kb"), requireKeyOrOperator(deps.keys, deps.sessions), adminOnly);
  router.get(PATH, async (_req, res) => {
    res.json({ numbers: await listNumbers(deps.prisma, await binder(res)) });
  });
  router.put(`${PATH}/:number`, async (req, res) => {
    const parsed = bindingRequest.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid("Invalid binding", fieldIssues(parsed.error.issues));
    const { assistant, org_id, reengagement_template: t } = parsed.data;
    const template = t ? { contentSid: t.content_sid, ...(t.content_variables ? { variables: t.content_variables } : {}) } : t;
    const bound = await bindNumber(deps.prisma, await binder(res), String(req.params.number), assistant, org_id, template);
    deps.routes.forget();
    res.json(bound);
  });
  router.delete(`${PATH}/:number`, async (req, res) => {
    await unbindNumber(deps.prisma, await binder(res), String(req.params.number));
    deps.routes.forget();
    res.status(204).end();
  });
  router.use(
    PATH,
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "twilio numbers API failed")),
  );
  return router;
}
