import type { Queue } from "bullmq";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

// Prometheus metrics of this process. One registry per process: several hubs started in one process (the
// tests) add to the same counters, as they would to one process's.

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const registers = [registry];
// Turns take from milliseconds (instant providers) to a minute (a slow LLM).
const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const metrics = {
  inbound: new Counter({
    name: "hub_inbound_messages_total",
    help: "Messages accepted, by channel (duplicates not counted)",
    labelNames: ["channel"],
    registers,
  }),
  turnSeconds: new Histogram({
    name: "hub_turn_duration_seconds",
    help: "From a message accepted to its reply stored, by outcome (answered, failed, handoff)",
    labelNames: ["outcome"],
    buckets,
    registers,
  }),
  assistantSeconds: new Histogram({
    name: "hub_assistant_duration_seconds",
    help: "Time the assistant provider took for one reply, by provider",
    labelNames: ["provider"],
    buckets,
    registers,
  }),
  assistantErrors: new Counter({
    name: "hub_assistant_errors_total",
    help: "Assistant calls that ended in the fallback reply, by provider",
    labelNames: ["provider"],
    registers,
  }),
  deliveries: new Counter({
    name: "hub_deliveries_total",
    help: "Outbound sends through a channel's API, by channel and outcome (sent, retried, failed)",
    labelNames: ["channel", "outcome"],
    registers,
  }),
  sockets: new Gauge({ name: "hub_websocket_connections", help: "Open WebSocket connections", registers }),
  queueJobs: new Gauge({
    name: "hub_queue_jobs",
    help: "Jobs in each queue by state, read when scraped",
    labelNames: ["queue", "state"],
    registers,
  }),
};

const STATES = ["waiting", "active", "delayed", "failed"] as const;

/** The Prometheus text of this process, with queue depths read from Redis now. */
export async function scrape(queues: Queue[]): Promise<string> {
  await Promise.all(
    queues.map(async (queue) => {
      const counts = await queue.getJobCounts(...STATES).catch(() => null);
      // Redis away: leave the last figures rather than fail the scrape; redis health shows on /readyz.
      if (!counts) return;
      for (const state of STATES) metrics.queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
    }),
  );
  return registry.metrics();
}
