import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Worker } from "bullmq";
import { createAskChannel } from "../adapters/rest/ask";
import { createManagementApi } from "../adapters/rest/management";
import { startAskWorker } from "../workers/ask";
import { startSweeper } from "../workers/sweeper";
import { bootstrap } from "./bootstrap";
import { type Config, ConfigError, loadConfig } from "./config";
import { createApp } from "./http/app";
import { createRuntime, type Runtime } from "./runtime";

// The composition root: the one file of src/ that imports adapters and workers, to plug them in.

export interface RunningHub {
  runtime: Runtime;
  /** Base URL of the gateway (ROLE all or gateway). */
  url: string | null;
  stop(): Promise<void>;
}

export async function startHub(config: Config): Promise<RunningHub> {
  const rt = createRuntime(config);
  const applied = await rt.db.migrate();
  if (applied.length) rt.logger.info({ applied }, "migrations applied");
  await bootstrap(rt.db.prisma, config.BOOTSTRAP_API_KEY);

  let server: Server | null = null;
  let worker: Worker | null = null;
  let sweeper: { stop(): void } | null = null;
  if (config.ROLE !== "worker") {
    await rt.bus.listen();
    const app = createApp(rt, [
      createAskChannel({
        hub: rt.hub,
        keys: rt.keys,
        bus: rt.bus,
        askTimeoutMs: config.ASK_TIMEOUT_MS,
        maxWaiting: config.MAX_WAITING_ASKS,
      }),
      createManagementApi({ prisma: rt.db.prisma, keys: rt.keys, knowledge: rt.knowledge, logger: rt.logger }),
    ]);
    server = createServer(app);
    await new Promise<void>((resolve) => server?.listen(config.PORT, config.HOST, resolve));
  }
  if (config.ROLE !== "gateway") {
    worker = startAskWorker(rt.turns, {
      connection: rt.connect(),
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      lockMs: config.JOB_LOCK_MS,
    });
    sweeper = startSweeper(rt.db.prisma, rt.askQueue, rt.turns, rt.logger, {
      intervalMs: config.SWEEP_INTERVAL_MS,
      afterMs: config.SWEEP_AFTER_MS,
    });
  }
  const port = server ? (server.address() as AddressInfo).port : null;
  const url = port === null ? null : `http://127.0.0.1:${port}`;
  rt.logger.info({ role: config.ROLE, url, database: rt.db.kind }, "hub started");

  return {
    runtime: rt,
    url,
    // Stop taking new work, let in-flight turns finish (a turn still running at the deadline is handed back:
    // its job's lock lapses and another worker takes it), then close connections.
    async stop() {
      sweeper?.stop();
      const closing = [server && new Promise<void>((resolve) => server?.close(() => resolve())), worker?.close()];
      server?.closeIdleConnections();
      await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, config.SHUTDOWN_TIMEOUT_MS).unref())]);
      server?.closeAllConnections();
      await rt.close();
    },
  };
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
  const hub = await startHub(config);
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, async () => {
      if (stopping) process.exit(1);
      stopping = true;
      hub.runtime.logger.info({ signal }, "shutting down");
      await hub.stop();
      process.exit(0);
    });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
