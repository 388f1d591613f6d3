import { createHash, timingSafeEqual } from "node:crypto";
import type { Queue } from "bullmq";
import express, { type Express, Router } from "express";
import { bearer } from "../auth/keys";
import { registry, scrape } from "../metrics";

/** GET /metrics: the Prometheus text; only for `Authorization: Bearer <token>` when a token is given. */
export function metricsRouter(queues: Queue[], token: string | undefined): Router {
  const router = Router();
  router.get("/metrics", async (req, res) => {
    if (token && !sameSecret(bearer(req.headers.authorization), token)) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="metrics"');
      res.status(401).json({ error: "unauthorized", message: "Metrics need the metrics token as a Bearer token" });
      return;
    }
    res.type(registry.contentType).send(await scrape(queues));
  });
  return router;
}

/**
 * What the metrics port serves: /metrics, and /healthz (a worker has no other port for a liveness probe or
 * the image's HEALTHCHECK to ask).
 */
export function metricsApp(queues: Queue[], token: string | undefined): Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.use(metricsRouter(queues, token));
  app.use((_req, res) => {
    res.status(404).json({ error: "not_found", message: "Only /metrics and /healthz are served here" });
  });
  return app;
}

/** Compares digests, so the time taken says nothing about how much of the token was right. */
function sameSecret(given: string | null, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return given !== null && timingSafeEqual(digest(given), digest(expected));
}
