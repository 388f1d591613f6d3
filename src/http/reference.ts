// The human-readable API reference: an HTML page rendered once, at start, from the OpenAPI document itself,
// so it needs no script, no CDN and no copy of the API's shape of its own.

type Schema = Record<string, any>;
interface Doc {
  info: { title: string; version: string; description?: string };
  tags: { name: string }[];
  paths: Record<string, Record<string, any>>;
}

const esc = (s: unknown) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

/** Escaped text with Markdown `code` spans, as the schemas' descriptions write them. */
const text = (s: unknown) => esc(s).replace(/`([^`]+)`/g, "<code>$1</code>");

// zod's .int() bounds every integer by the safe range: not worth a reader's attention.
const bound = (n: unknown) => (typeof n === "number" && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);

/** A one-line description of a schema's type and constraints: `integer, 1..100, default 50`. */
function typeOf(s: Schema): string {
  if (s.anyOf) return (s.anyOf as Schema[]).map(typeOf).join(" | ");
  const parts: string[] = [];
  if (s.enum) parts.push((s.enum as unknown[]).map((v) => JSON.stringify(v)).join(" | "));
  else if (s.const !== undefined) parts.push(JSON.stringify(s.const));
  else if (s.type === "array") parts.push(`array of ${typeOf(s.items ?? {})}`);
  else parts.push([s.type ?? "any"].flat().join(" | "));
  if (s.format) parts.push(s.format);
  const min = bound(s.minimum) ?? s.minLength ?? s.minItems;
  const max = bound(s.maximum) ?? s.maxLength ?? s.maxItems;
  if (min !== undefined || max !== undefined) parts.push(`${min ?? ""}..${max ?? ""}`);
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(", ");
}

/** Rows of a schema's fields, nested objects and arrays of objects flattened to dotted names. */
function fieldRows(s: Schema, prefix = ""): string[] {
  const item = s.type === "array" ? s.items : s;
  if (!item?.properties) return prefix ? [] : [`<tr><td colspan="3"><code>${esc(typeOf(s))}</code></td></tr>`];
  const required = new Set<string>(item.required ?? []);
  return Object.entries(item.properties as Record<string, Schema>).flatMap(([name, field]) => {
    const full = `${prefix}${name}${field.type === "array" && field.items?.properties ? "[]" : ""}`;
    return [
      `<tr><td><code>${esc(full)}</code>${required.has(name) ? " *" : ""}</td><td>${esc(typeOf(field))}</td><td>${text(field.description)}</td></tr>`,
      ...fieldRows(field, `${full}.`),
    ];
  });
}

const table = (rows: string[]) =>
  rows.length ? `<table><tr><th>field</th><th>type</th><th></th></tr>${rows.join("")}</table>` : "<p>No fields.</p>";

function operation(path: string, method: string, op: any): string {
  const params = (op.parameters ?? []) as Schema[];
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const shown = new Set<string>();
  const responses = Object.entries(op.responses as Record<string, any>).map(([status, r]) => {
    const [type, content] = Object.entries((r.content ?? {}) as Record<string, { schema: Schema }>)[0] ?? [];
    // Error statuses mostly share one body: its fields are shown once.
    const key = content ? JSON.stringify(content.schema) : "";
    const body = !content ? "" : shown.has(key) ? "<p><small>Body as above.</small></p>" : table(fieldRows(content.schema));
    shown.add(key);
    return `<h4>${esc(status)} ${text(r.description)}${type ? ` <small>${esc(type)}</small>` : ""}</h4>${body}`;
  });
  return `<section class="op" id="${esc(`${method}-${path}`)}">
<h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code>${op.deprecated ? " <small>(alias)</small>" : ""}</h3>
<p>${text(op.summary)}${op.security?.length === 0 ? " <small>No key needed.</small>" : ""}</p>
${op.description ? `<p>${text(op.description)}</p>` : ""}
${
  params.length
    ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th></th></tr>${params
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code>${p.required ? " *" : ""}</td><td>${esc(p.in)}</td><td>${esc(typeOf(p.schema))}</td><td>${text(p.description)}</td></tr>`,
        )
        .join("")}</table>`
    : ""
}
${body ? `<h4>Request body</h4>${table(fieldRows(body))}` : ""}
<h4>Responses</h4>${responses.join("")}
</section>`;
}

export function renderReference(doc: Doc): string {
  const sections = doc.tags.map(({ name }) => {
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, op]) => op.tags?.includes(name))
        .map(([method, op]) => operation(path, method, op)),
    );
    return `<h2 id="${esc(name)}">${esc(name)}</h2>${ops.join("")}`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} — API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
code{font:13px ui-monospace,monospace}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f6f6f6}
.op{border-top:1px solid #ccc;margin-top:1.5rem}.method{display:inline-block;min-width:4em;padding:0 .4em;border-radius:3px;color:#fff;background:#555;font-size:13px}
.get{background:#2b7bb9}.post{background:#2f9a4f}.patch,.put{background:#b9812b}.delete{background:#b92b2b}h4{margin:.75rem 0 .25rem}
</style></head><body>
<h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>
${doc.info.description ? `<p>${text(doc.info.description)}</p>` : ""}
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Fields marked * are required.
Every operation takes <code>Authorization: Bearer &lt;API key&gt;</code> unless it says otherwise.</p>
<nav><ul>${doc.tags.map(({ name }) => `<li><a href="#${esc(name)}">${esc(name)}</a></li>`).join("")}</ul></nav>
${sections.join("\n")}
</body></html>`;
}
