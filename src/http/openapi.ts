import { Router } from "express";
import { z } from "zod";
import { renderReference } from "./reference";

/**
 * One HTTP operation as an API folder declares it, with the same zod schemas its handler parses with: the
 * OpenAPI document is generated from them, so it cannot drift from what the hub accepts.
 */
export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style: `/api/conversations/{id}/history`. */
  path: string;
  tag: string;
  /** A stable name for generated clients (`consoleLogin`). */
  operationId?: string;
  summary: string;
  description?: string;
  /** Bearer API key required (the default). */
  auth?: boolean;
  deprecated?: boolean;
  pathParams?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Request bodies in other media types than JSON (a file upload), by media type. */
  otherBodies?: Record<string, z.ZodType>;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

type JsonSchema = Record<string, unknown>;

// Requests are described as clients send them (before defaults and transforms), responses as the hub sends them.
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

function parameters(schema: z.ZodObject | undefined, where: "query" | "path") {
  if (!schema) return [];
  const json = jsonSchema(schema, "input");
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(json.properties as Record<string, JsonSchema>).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: where, required: where === "path" || required.has(name), description, schema: rest };
  });
}

function operationObject(op: Operation) {
  return {
    tags: [op.tag],
    ...(op.operationId ? { operationId: op.operationId } : {}),
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.deprecated ? { deprecated: true } : {}),
    ...(op.auth === false ? { security: [] } : {}),
    parameters: [...parameters(op.pathParams, "path"), ...parameters(op.query, "query")],
    ...(op.body || op.otherBodies ? { requestBody: { required: true, content: requestContent(op) } } : {}),
    responses: Object.fromEntries(
      Object.entries(op.responses).map(([status, r]) => [
        status,
        {
          description: r.description,
          ...(r.schema ? { content: { [r.contentType ?? "application/json"]: { schema: jsonSchema(r.schema, "output") } } } : {}),
        },
      ]),
    ),
  };
}

function requestContent(op: Operation) {
  const bodies = { ...(op.body ? { "application/json": op.body } : {}), ...op.otherBodies };
  return Object.fromEntries(Object.entries(bodies).map(([type, schema]) => [type, { schema: jsonSchema(schema, "input") }]));
}

/** The OpenAPI 3.1 document of the given operations. */
export function openApiDocument(info: { title: string; version: string; description?: string }, operations: Operation[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    paths[op.path] ??= {};
    paths[op.path][op.method] = operationObject(op);
  }
  return {
    openapi: "3.1.0",
    info,
    components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "An API key of the org" } } },
    security: [{ bearerAuth: [] }],
    tags: [...new Set(operations.map((op) => op.tag))].map((name) => ({ name })),
    paths,
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;

/** `GET /openapi.json` and the reference page rendered from it at `GET /docs`; both public, like the API's shape. */
export function createApiDocs(doc: OpenApiDocument): Router {
  const html = renderReference(doc);
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    res.json(doc);
  });
  router.get("/docs", (_req, res) => {
    res.type("html").send(html);
  });
  return router;
}
