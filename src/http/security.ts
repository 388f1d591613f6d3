import cors from "cors";
import type { RequestHandler } from "express";
import helmet from "helmet";

// Browser-facing headers. Pages (the widget's demo page, /docs, the queue dashboard, the console) get
// helmet's headers with a Content-Security-Policy that allows only the hub's own scripts; the APIs get
// an explicit CORS policy.

/**
 * helmet's defaults with a CSP the hub's pages work under: scripts from the hub only; inline styles (the
 * pages and bull-board use them) and web fonts (bull-board's); images from anywhere over HTTPS (a reply's
 * Markdown may show one). `connect-src 'self'` covers the page's own WebSocket. No upgrade-insecure-requests:
 * a hub served over plain HTTP (local, behind a TLS proxy that adds its own) would break its own assets.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'", "https:"],
        "font-src": ["'self'", "https:", "data:"],
        "img-src": ["'self'", "data:", "https:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
        "upgrade-insecure-requests": null,
      },
    },
  });
}

/** What a page on another site may load from the hub (widget.js, its CSS and modules): helmet says same-origin. */
export const EMBEDDABLE = { "cross-origin-resource-policy": "cross-origin" };

/**
 * The APIs to scripts on other origins: only those listed ("*" for any). None by default: the widget speaks
 * over /ws (whose origins WS_ALLOWED_ORIGINS decides) and calls no API, and an integrator's backend calls
 * with a secret API key, which does not belong in a browser. API keys are bearer tokens, not cookies, so
 * no credentials are allowed either way.
 */
export function apiCors(allowed: string[]): RequestHandler {
  const any = allowed.includes("*");
  return cors({
    origin: (origin, done) => done(null, any || (origin !== undefined && allowed.includes(origin))),
    methods: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
    exposedHeaders: ["Retry-After", "X-Total-Count"],
    maxAge: 600,
  });
}
