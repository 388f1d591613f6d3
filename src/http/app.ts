import express, { type Router } from "express";
import type { Runtime } from "../runtime";
import { createDashboard } from "./dashboard";
import { metricsRouter } from "./metrics";
import { apiCors, securityHeaders } from "./security";

/** The HTTP app: health endpoints, then each channel's and API's router. */
export function createApp(rt: Runtime, routers: Router[]): express.Express {
  const app = express();
  app.disable("x-powered-by");
  // req.ip and req.protocol believe X-Forwarded-* from the configured proxies only, as the sockets do.
  app.set("trust proxy", rt.config.TRUSTED_PROXIES);
  app.use(securityHeaders(), apiCors(rt.config.CORS_ALLOWED_ORIGINS));
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    const redisProblem = rt.redisProblem();
    const [redis, database] = await Promise.all([
      redisProblem ??
        rt.redis.ping().then(
          () => "ok",
          (e: Error) => e.message,
        ),
      rt.db.prisma.$queryRaw`SELECT 1`.then(
        () => "ok",
        (e: Error) => e.message,
      ),
    ]);
    const ready = redis === "ok" && database === "ok";
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable", redis, database });
  });
  // With a metrics port, metrics are served there only; without a token, nowhere on this port.
  const { METRICS_PORT, METRICS_TOKEN } = rt.config;
  if (METRICS_PORT === undefined && METRICS_TOKEN) app.use(metricsRouter(rt.queues, METRICS_TOKEN));
  app.use(createDashboard(rt.db.prisma, rt.keys, rt.queues));
  for (const router of routers) app.use(router);
  app.use((req, res) => {
    res.status(404).json({ error: "not_found", message: `No route for ${req.method} ${req.path}` });
  });
  return app;
}
