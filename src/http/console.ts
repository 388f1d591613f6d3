import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import express, { Router } from "express";

// The operator console (issue #15) at /console: a page and a few ES modules, no build step. Preact and htm
// are served from the installed packages under /console/vendor, so package-lock.json pins what a browser
// runs; no CDN is involved.

const preactDir = path.dirname(require.resolve("preact"));
const VENDOR: Record<string, string> = {
  "preact.mjs": path.join(preactDir, "preact.mjs"),
  "hooks.mjs": path.join(preactDir, "../hooks/dist/hooks.mjs"),
  "htm.mjs": path.join(path.dirname(require.resolve("htm")), "htm.module.js"),
};

export function consoleRouter(consoleDir: string): Router {
  const router = Router();
  // The page's import map is its one inline script: allowed by its hash, so no other inline script runs.
  const importMap =
    /<script type="importmap">([\s\S]*?)<\/script>/.exec(readFileSync(path.join(consoleDir, "index.html"), "utf8"))?.[1] ?? "";
  const mapHash = createHash("sha256").update(importMap).digest("base64");
  router.use("/console", (_req, res, next) => {
    // The console runs only its own scripts and talks only to its own origin; no other site may frame it.
    res.set(
      "content-security-policy",
      `default-src 'self'; script-src 'self' 'sha256-${mapHash}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'`,
    );
    res.set("x-content-type-options", "nosniff");
    next();
  });
  router.get("/console/vendor/:file", (req, res, next) => {
    const file = Object.hasOwn(VENDOR, req.params.file) ? VENDOR[req.params.file] : undefined;
    if (!file) return next();
    res.type("text/javascript").sendFile(file);
  });
  router.use("/console", express.static(consoleDir));
  return router;
}
