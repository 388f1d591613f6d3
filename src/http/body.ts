import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { isDatabaseUnavailable, isUnstorableText } from "../db/database";
import { HubError, invalid } from "../errors";
import { MAX_JSON_DEPTH, tooDeep, tooDeepIssue } from "../json-depth";

/** express.json, then a 400 for a body nested too deeply, before any handler or schema walks it. */
export function jsonBody(limit: string): RequestHandler[] {
  const depth: RequestHandler = (req, _res, next) => {
    const field = tooDeep(req.body);
    next(field === null ? undefined : invalid(`JSON nested too deeply (${MAX_JSON_DEPTH} levels at most)`, [tooDeepIssue(field)]));
  };
  return [express.json({ limit }), depth];
}

/**
 * Turns what Express and its body parser throw into HubErrors, so each surface renders one kind of error.
 * Anything else is a bug: logged, and answered 500 by the surface.
 */
export function toHubError(err: unknown): HubError | null {
  if (err instanceof HubError) return err;
  // A unique constraint lost to a concurrent request: the same outcome as the check a moment later.
  if ((err as { code?: string })?.code === "P2002") return new HubError(409, "conflict", "It exists already");
  if (isDatabaseUnavailable(err)) {
    // Whatever was stored before the outage stays stored, and every write is idempotent: sending the same
    // request again is safe, and is how the client finds out what became of it.
    return new HubError(503, "unavailable", "The database is unavailable; send the same request again in a moment", { retryAfter: 5 });
  }
  if (isUnstorableText(err)) {
    return invalid("Text must not contain the NUL character (U+0000)", [{ field: "body", message: "contains U+0000" }]);
  }
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === "entity.parse.failed") return invalid("Malformed JSON body", [{ field: "body", message: "Body is not valid JSON" }]);
  if (e?.type === "entity.too.large") return new HubError(413, "payload_too_large", "Request body too large");
  if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported")
    return new HubError(415, "invalid_message", e.message ?? "Unsupported encoding");
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500)
    return new HubError(e.status, "invalid_message", e.message ?? "Bad request");
  return null;
}

export type Render = (err: HubError) => { status: number; body: unknown; headers?: Record<string, string> };

/** One error handler per API surface: each renders HubErrors in its own document's dialect. */
export function errorHandler(render: Render, log: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const hubError = toHubError(err);
    if (!hubError) {
      log(err);
      res.status(500).json({ error: "internal_error", message: "Internal error" });
      return;
    }
    const out = render(hubError);
    if (hubError.details.retryAfter) res.setHeader("Retry-After", String(hubError.details.retryAfter));
    for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
    res.status(out.status).json(out.body);
  };
}
