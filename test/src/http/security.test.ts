import { startTestHub, type TestHub } from "../../support/hub";

const SHOP = "https://shop.example";

describe("browser-facing headers", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("pglite", { CORS_ALLOWED_ORIGINS: `${SHOP}/` });
  });
  afterAll(() => hub?.stop());

  const basic = () => `Basic ${Buffer.from(`operator:${hub.key}`).toString("base64")}`;

  it.each([
    ["the widget's demo page", "/", {}],
    ["the API reference", "/docs", {}],
    ["the queue dashboard", "/admin/queues", { authorization: "" }],
  ])("sends helmet's headers and a CSP allowing only the hub's own scripts on %s", async (_what, path, headers) => {
    const res = await fetch(hub.url + path, { headers: "authorization" in headers ? { authorization: basic() } : {} });
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toContain("upgrade-insecure-requests");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
    expect(res.headers.get("x-powered-by")).toBeNull();
  });

  it("lets other sites load the widget's script, styles and modules, and nothing else of the hub", async () => {
    for (const file of ["/widget.js", "/widget.css", "/widget-render.mjs", "/widget/vendor/marked.esm.js"]) {
      expect((await fetch(hub.url + file)).headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    }
    expect((await fetch(hub.url)).headers.get("cross-origin-resource-policy")).toBe("same-origin");
    expect((await fetch(`${hub.url}/healthz`)).headers.get("cross-origin-resource-policy")).toBe("same-origin");
  });

  const preflight = (origin: string) =>
    fetch(`${hub.url}/api/folders`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });

  it("answers an API preflight from an allowed origin, with the methods and headers the APIs take", async () => {
    const res = await preflight(SHOP);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    const call = await hub.api("/api/folders", { headers: { origin: SHOP } });
    expect(call.status).toBe(200);
    expect(call.headers.get("access-control-allow-origin")).toBe(SHOP);
  });

  it("gives another origin no CORS grant: its browser refuses to send the call or read the answer", async () => {
    const res = await preflight("https://evil.example");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-methods")).toBeNull();
    const call = await hub.api("/api/folders", { headers: { origin: "https://evil.example" } });
    expect(call.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("CORS by default", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("pglite");
  });
  afterAll(() => hub?.stop());

  it("grants no origin the APIs, while other sites may still load the widget's modules", async () => {
    const res = await fetch(`${hub.url}/api/folders`, {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "GET" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const module = await fetch(`${hub.url}/widget-render.mjs`, { headers: { origin: "https://shop.example" } });
    expect(module.headers.get("access-control-allow-origin")).toBe("*");
  });
});
