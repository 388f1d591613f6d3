import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import { type Express, type NextFunction, type Request, type Response, Router } from "express";
import { bearer, type KeyRing } from "../auth/keys";
import { defaultOrgId } from "../bootstrap";
import type { Db } from "../db/database";

export const DASHBOARD_PATH = "/admin/queues";

/**
 * The queue dashboard (bull-board) at /admin/queues, for the operator: an API key of the default org,
 * as a Bearer header or as the password of HTTP Basic auth, so a browser can open it with its own prompt.
 * Keys of other orgs are refused: the queues hold every org's turns, and the board can retry or drop jobs.
 */
export function createDashboard(prisma: Db, keys: KeyRing, queues: Queue[]): Router {
  const adapter = new ExpressAdapter().setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter });
  const operatorOnly = async (req: Request, res: Response, next: NextFunction) => {
    const secret = bearer(req.headers.authorization) ?? basicPassword(req.headers.authorization);
    const principal = secret ? await keys.authenticate(secret) : null;
    if (principal && principal.orgId === (await defaultOrgId(prisma))) return next();
    res.setHeader("WWW-Authenticate", 'Basic realm="hub queues", charset="UTF-8"');
    res.status(principal ? 403 : 401).json({
      error: principal ? "forbidden" : "unauthorized",
      message: "The queue dashboard needs an API key of the default org (as the Basic auth password)",
    });
  };

  // bull-board serves from an Express app of its own, which would name itself in X-Powered-By.
  const board: Express = adapter.getRouter();
  board.disable("x-powered-by");
  const router = Router();
  router.use(DASHBOARD_PATH, (req, res, next) => operatorOnly(req, res, next).catch(next), board);
  return router;
}

function basicPassword(header: string | undefined): string | null {
  const match = /^Basic\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return null;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : decoded.slice(colon + 1) || null;
}
