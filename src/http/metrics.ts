import { createHash, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Queue } from "bullmq";
import express, { Router } from "express";
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

/** The metrics port: a server of its own, serving /metrics and nothing else. */
export async function startMetricsServer(queues: Queue[], options: { host: string; port: number; token?: string }) {
  const app = express();
  app.disable("x-powered-by");
  app.use(metricsRouter(queues, options.token));
  app.use((_req, res) => {
    res.status(404).json({ error: "not_found", message: "Only /metrics is served here" });
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A scraper's keep-alive connection would hold the close up.
      server.closeAllConnections();
      return closed;
    },
  };
}

/** Compares digests, so the time taken says nothing about how much of the token was right. */
function sameSecret(given: string | null, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return given !== null && timingSafeEqual(digest(given), digest(expected));
}
