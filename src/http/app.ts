import express, { type Router } from "express";
import { registry, scrape } from "../metrics";
import type { Runtime } from "../runtime";
import { createDashboard } from "./dashboard";

/** The HTTP app: health endpoints, then each channel's and API's router. */
export function createApp(rt: Runtime, routers: Router[]): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", true);
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
  // Prometheus scrapes this on the internal network; it names no org, user or message.
  app.get("/metrics", async (_req, res) => {
    res.type(registry.contentType).send(await scrape(rt.queues));
  });
  app.use(createDashboard(rt.db.prisma, rt.keys, rt.queues));
  for (const router of routers) app.use(router);
  app.use((req, res) => {
    res.status(404).json({ error: "not_found", message: `No route for ${req.method} ${req.path}` });
  });
  return app;
}
