import path from "node:path";
import express, { Router } from "express";
import { z } from "zod";

/**
 * One HTTP operation as an API folder declares it, with the same zod schemas its handler parses with: the
 * OpenAPI document is generated from them, so it cannot drift from what the hub accepts.
 */
export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style: `/api/conversations/{id}/history`. */
  path: string;
  /** Unique in the document: the name a generated client gives the call. */
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Bearer API key required (the default); false: public; or the other security schemes it takes. */
  auth?: boolean | string[];
  deprecated?: boolean;
  pathParams?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Request bodies in other media types than JSON (a file upload), by media type. */
  otherBodies?: Record<string, z.ZodType>;
  /** By status; `default`: any other answer (a socket's refused upgrade). */
  responses: { [status: number]: Response; default?: Response };
}

interface Response {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

/** An API's error responses, one body schema for all, described by status: `errors(400, 401)`. */
/** What an operation the console also calls takes: an API key, or an operator's session cookie. */
export const KEY_OR_CONSOLE = ["bearerAuth", "consoleSession"];

export const errorResponses =
  (schema: z.ZodType, descriptions: Record<number, string>) =>
  (...statuses: number[]): Operation["responses"] =>
    Object.fromEntries(statuses.map((status) => [status, { description: descriptions[status], schema }]));

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
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.deprecated ? { deprecated: true } : {}),
    ...(op.auth === false ? { security: [] } : {}),
    ...(Array.isArray(op.auth) ? { security: op.auth.map((scheme) => ({ [scheme]: [] })) } : {}),
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

const SECURITY_SCHEMES = {
  bearerAuth: { type: "http", scheme: "bearer", description: "An API key of the org" },
  metricsToken: { type: "http", scheme: "bearer", description: "METRICS_TOKEN, for /metrics" },
  consoleSession: {
    type: "apiKey",
    in: "cookie",
    name: "hub_console",
    description:
      "A console operator's session (POST /api/console/login), in the operator's org; a state-changing request must carry the hub's own Origin",
  },
  twilioSignature: {
    type: "apiKey",
    in: "header",
    name: "X-Twilio-Signature",
    description: "Twilio's signature of the request, with the account's auth token (TWILIO_AUTH_TOKEN)",
  },
};

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
  /** What each tag groups, by tag name: every operation's tag needs one. */
  tags: Record<string, string>;
}

/** The OpenAPI 3.1 document of the given operations. */
export function openApiDocument({ tags, ...info }: DocumentInfo, operations: Operation[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  const used = new Set(["bearerAuth", ...operations.flatMap((op) => (Array.isArray(op.auth) ? op.auth : []))]);
  for (const op of operations) {
    paths[op.path] ??= {};
    paths[op.path][op.method] = operationObject(op);
  }
  return {
    openapi: "3.1.0",
    info: { ...info, license: { name: "MIT", identifier: "MIT" } },
    // Relative: calls go to the host the document was read from, whatever name or proxy that was.
    servers: [{ url: "/", description: "This hub" }],
    // The schemes the operations name (a channel not configured names none of its own).
    components: { securitySchemes: Object.fromEntries(Object.entries(SECURITY_SCHEMES).filter(([name]) => used.has(name))) },
    security: [{ bearerAuth: [] }],
    tags: [...new Set(operations.map((op) => op.tag))].map((name) => ({ name, description: tags[name] })),
    paths,
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;

const swaggerUiDir = path.dirname(require.resolve("swagger-ui-dist/package.json"));
const SWAGGER_UI_FILES = /^\/(swagger-ui-bundle\.js|swagger-ui\.css|favicon-\d+x\d+\.png)(\.map)?$/;

/**
 * `GET /openapi.json`, and at `GET /docs` the interactive reference (Swagger UI, served from the installed
 * package with the page's own script beside it: no CDN); all public, like the API's shape.
 */
export function createApiDocs(doc: OpenApiDocument): Router {
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    res.json(doc);
  });
  router.get("/docs", (_req, res) => {
    res.sendFile(path.join(__dirname, "docs", "index.html"));
  });
  router.use("/docs/assets", express.static(path.join(__dirname, "docs"), { index: false }));
  // Swagger UI's bundle, styles and icons only: its package's own pages would load the petstore example.
  const swaggerUi = express.static(swaggerUiDir, { index: false });
  router.use("/docs/assets", (req, res, next) => (SWAGGER_UI_FILES.test(req.path) ? swaggerUi(req, res, next) : next()));
  return router;
}
