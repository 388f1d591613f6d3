import path from "node:path";
import express, { Router } from "express";
import { EMBEDDABLE } from "./security";

// The chat widget, the demo page at / that embeds it, and the two libraries the widget renders replies with:
// marked (Markdown to HTML) and DOMPurify (keeps only harmless HTML of it). These are served from the
// installed packages, so the versions package-lock.json pins are the ones a browser runs; no CDN is involved.

const markedDir = path.join(path.dirname(require.resolve("marked/package.json")), "lib");
const purifyDir = path.dirname(require.resolve("dompurify"));

/** The files under /widget/vendor/, by name (a source map next to its module, where the module says it is). */
const VENDOR: Record<string, string> = {
  "marked.esm.js": path.join(markedDir, "marked.esm.js"),
  "marked.esm.js.map": path.join(markedDir, "marked.esm.js.map"),
  "purify.es.mjs": path.join(purifyDir, "purify.es.mjs"),
  "purify.es.mjs.map": path.join(purifyDir, "purify.es.mjs.map"),
};

export function widgetRouter(publicDir: string): Router {
  const router = Router();
  router.get("/widget/vendor/:file", (req, res, next) => {
    const file = Object.hasOwn(VENDOR, req.params.file) ? VENDOR[req.params.file] : undefined;
    if (!file) return next();
    allowModules(res, file);
    res.type(file.endsWith(".map") ? "application/json" : "text/javascript");
    res.sendFile(file);
  });
  router.use(express.static(publicDir, { setHeaders: allowModules }));
  return router;
}

/**
 * Pages on other sites load the widget's script and CSS (no-cors: allowed by Cross-Origin-Resource-Policy)
 * and import its modules (that takes CORS).
 */
function allowModules(res: express.Response, file: string) {
  if (/\.(m?js|map|css)$/.test(file)) res.set(EMBEDDABLE);
  if (/\.(m?js|map)$/.test(file)) res.set("access-control-allow-origin", "*");
}
