import { z } from "zod";
import type { Operation } from "./openapi";

// The hub's own routes for the OpenAPI document: probes, metrics and the document itself (src/http).

const tag = "Hub";
const problem = z.string().describe("`ok`, or what went wrong reaching it");

export const hubOperations: Operation[] = [
  {
    tag,
    method: "get",
    path: "/healthz",
    operationId: "health",
    summary: "Liveness: the process answers (checks nothing else)",
    auth: false,
    responses: {
      200: { description: "Alive", schema: z.object({ status: z.literal("ok") }) },
      503: { description: "Still starting" },
    },
  },
  {
    tag,
    method: "get",
    path: "/readyz",
    operationId: "ready",
    summary: "Readiness: Redis and the database both answer",
    auth: false,
    responses: {
      200: { description: "Ready", schema: z.object({ status: z.literal("ready"), redis: problem, database: problem }) },
      503: {
        description: "Not ready: what is not",
        schema: z.object({ status: z.literal("unavailable"), redis: problem, database: problem }),
      },
    },
  },
  {
    tag,
    method: "get",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics: served here when METRICS_TOKEN is set and METRICS_PORT is not",
    auth: ["metricsToken"],
    responses: {
      200: { description: "The Prometheus text format", schema: z.string(), contentType: "text/plain" },
      401: { description: "`unauthorized`: not the metrics token", schema: z.object({ error: z.string(), message: z.string() }) },
    },
  },
  {
    tag,
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This document (OpenAPI 3.1)",
    auth: false,
    responses: {
      200: { description: "The document", schema: z.record(z.string(), z.unknown()) },
      503: { description: "Still starting" },
    },
  },
  {
    tag,
    method: "get",
    path: "/docs",
    operationId: "getDocs",
    summary: "The interactive API reference (Swagger UI) of this document",
    auth: false,
    responses: {
      200: { description: "The page", schema: z.string(), contentType: "text/html" },
      503: { description: "Still starting" },
    },
  },
];
