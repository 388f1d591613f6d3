import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type FakeTwilio, startFakeTwilio } from "../../fakes/twilio-server";
import { startTestHub, type TestHub } from "../../support/hub";
import { routesOf } from "../../support/routes";
import { twilioEnv } from "../../support/twilio";

/** Routes that are no API: bull-board's own UI and calls, the widget's and the console's copies of their libraries. */
const NOT_API = ["/admin/queues", "/widget/vendor/", "/console/vendor/"];
const METHODS = ["get", "post", "put", "patch", "delete"];

describe("the OpenAPI document and the API reference page", () => {
  let hub: TestHub;
  let twilio: FakeTwilio;
  let doc: any;
  beforeAll(async () => {
    // Every optional router mounted: Twilio's and /metrics on the gateway's port.
    twilio = await startFakeTwilio();
    hub = await startTestHub("pglite", { ...twilioEnv(twilio), METRICS_TOKEN: "metrics-token-0123456789" });
    const res = await fetch(`${hub.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(async () => {
    await hub?.stop();
    await twilio?.close();
  });

  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
    );

  it("has an operation for every route the app serves", () => {
    const routes = routesOf(hub.app).filter((route) => !NOT_API.some((prefix) => route.includes(` ${prefix}`)));
    expect(routes.length).toBeGreaterThan(40);
    const documented = new Set(operations().map((o) => o.name));
    // Express writes `/:id`, OpenAPI `/{id}`.
    const missing = routes.filter((route) => !documented.has(route.replace(/:(\w+)/g, "{$1}")));
    expect(missing).toEqual([]);
  });

  it("describes the sockets as GET upgrades", () => {
    for (const path of ["/ws", "/ws/operators"]) expect(doc.paths[path].get.responses).toHaveProperty("101");
  });

  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "openapi-"));
    try {
      const file = path.join(dir, "openapi.json");
      await writeFile(file, JSON.stringify(doc));
      const root = path.join(__dirname, "../../..");
      const cli = path.join(root, "node_modules/@redocly/cli/bin/cli.js");
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [cli, "lint", file, "--config", path.join(root, "redocly.yaml"), "--format=json"],
        {
          cwd: root,
          env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
        },
      ).catch((err: { stdout: string }) => err);
      const report = JSON.parse(stdout);
      expect(report.problems.map((p: any) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("documents a client error for every operation that takes input (in place of Redocly's operation-4xx-response)", () => {
    const inputless = new Set(["GET /healthz", "GET /readyz", "GET /openapi.json", "GET /docs"]);
    const without = operations()
      .filter(({ name, op }) => !inputless.has(name) && !Object.keys(op.responses).some((s) => s.startsWith("4")))
      .map((o) => o.name);
    expect(without).toEqual([]);
  });

  const param = (path: string, method: string, name: string) =>
    doc.paths[path][method].parameters.find((p: { name: string }) => p.name === name);

  it("is OpenAPI 3.1 and lists every REST endpoint of the hub", () => {
    expect(doc.openapi).toBe("3.1.0");
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods as object).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const expected = [
      "POST /api/ai-hub/assistant/ask",
      "POST /api/conversations/start",
      "POST /api/conversations/{id}/messages",
      "GET /api/conversations/{id}/history",
      "GET /api/conversations",
      "PATCH /api/conversations/{id}",
      "POST /conversations/start",
      "POST /conversations/{id}/messages",
      "GET /conversations/{id}/history",
      "GET /conversations",
      "GET /v1/api/conversations",
      "POST /api/conversation/create",
      "POST /api/conversation/create_session",
      "POST /api/conversation/stream_chat",
      "GET /api/conversation/list",
      "GET /api/conversation/get_with_sessions",
      "GET /api/conversation/messages",
      "GET /api/me",
      "GET /api/assistants",
      "POST /api/assistants",
      "PATCH /api/assistants/{id}",
      "GET /api/folders",
      "POST /api/folders/{id}/documents",
      "GET /api/folders/{id}/documents/{documentId}",
      "POST /api/folders/{id}/documents/{documentId}/refresh",
    ];
    expect(operations).toEqual(expect.arrayContaining(expected));
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("describes the console's routes with operation ids and response schemas", () => {
    const paths = doc.paths as Record<string, Record<string, any>>;
    const consoleOps = Object.entries(paths)
      .filter(([path]) => path.startsWith("/api/console/"))
      .flatMap(([, methods]) => Object.values(methods));
    expect(consoleOps.map((op) => op.operationId).sort()).toEqual([
      "consoleAddOperator",
      "consoleConversation",
      "consoleFeedbackCsv",
      "consoleInsights",
      "consoleListOperators",
      "consoleLogin",
      "consoleLogout",
      "consoleMe",
      "consoleRemoveOperator",
    ]);
    for (const op of consoleOps) expect(op).toMatchObject({ tags: ["Console"], summary: expect.any(String) });
    expect(paths["/api/console/login"].post.responses[200].content["application/json"].schema.properties.operator).toBeDefined();
    expect(
      paths["/api/console/conversations/{conversationId}"].get.responses[200].content["application/json"].schema.properties.messages,
    ).toBeDefined();
    expect(paths["/api/console/insights"].get.responses[200].content["application/json"].schema.properties.unanswered).toBeDefined();
    expect(paths["/api/console/feedback.csv"].get.responses[200].content).toHaveProperty("text/csv");
  });

  it("states the documents' defaults and maxima, from the schemas that validate requests", () => {
    expect(param("/api/conversations/{id}/history", "get", "limit").schema).toMatchObject({ type: "integer", default: 50, maximum: 100 });
    expect(param("/api/conversations", "get", "status").schema.enum).toEqual(["active", "archived"]);
    expect(param("/v1/api/conversations", "get", "page").schema).toMatchObject({ default: 1, minimum: 1 });
    expect(param("/v1/api/conversations", "get", "per_page").schema).toMatchObject({ default: 20, maximum: 100 });
    expect(param("/api/conversation/messages", "get", "limit").schema).toMatchObject({ default: 20 });
    expect(param("/api/conversation/messages", "get", "offset").schema).toMatchObject({ default: 0 });
    expect(param("/api/conversation/list", "get", "org_id").required).toBe(true);
    expect(param("/api/conversations/{id}/history", "get", "id")).toMatchObject({ in: "path", required: true });
  });

  it("describes request bodies and responses", () => {
    const ask = doc.paths["/api/ai-hub/assistant/ask"].post.requestBody.content["application/json"].schema;
    expect(ask.required).toEqual(["message", "assistantId"]);
    expect(ask.properties.message.properties.role.enum).toEqual(["user", "assistant", "system"]);
    const start = doc.paths["/api/conversations/start"].post;
    expect(start.requestBody.content["application/json"].schema.required).toEqual(["bot_id"]);
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(["201", "400", "401", "404", "429"]));
    const botuj = doc.paths["/v1/api/conversations"].get.responses["200"].content["application/json"].schema;
    expect(Object.keys(botuj.items.properties)).toEqual([
      "id",
      "type",
      "count",
      "sessionid",
      "firstUserMessage",
      "firstBotMessage",
      "createdOn",
    ]);
    expect(doc.paths["/api/conversation/stream_chat"].post.responses["200"].content).toHaveProperty("text/event-stream");
    expect(doc.paths["/api/assistants"].post.requestBody.content["application/json"].schema.properties).toHaveProperty("instructions");
    const documents = doc.paths["/api/folders/{id}/documents"].post;
    expect(Object.keys(documents.requestBody.content)).toEqual(
      expect.arrayContaining(["application/json", "multipart/form-data", "application/pdf", "text/csv"]),
    );
    expect(documents.requestBody.content["multipart/form-data"].schema.properties.file).toMatchObject({ type: "string", format: "binary" });
    expect(Object.keys(documents.responses)).toEqual(expect.arrayContaining(["201", "202", "413", "415", "422"]));
  });

  it("serves the interactive reference from this hub: Swagger UI, its files from the installed package", async () => {
    const res = await fetch(`${hub.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(
      expect.arrayContaining(["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/docs.js"]),
    );
    expect(assets.filter((a) => !a.startsWith("/"))).toEqual([]);
    for (const asset of assets) expect((await fetch(hub.url + asset)).status).toBe(200);
    // Not the package's own set-up, which would load the petstore example.
    expect((await fetch(`${hub.url}/docs/assets/swagger-initializer.js`)).status).toBe(404);
    const setup = await (await fetch(`${hub.url}/docs/assets/docs.js`)).text();
    expect(setup).toContain('url: "/openapi.json"');
    expect(setup).toContain("validatorUrl: null");
  });
});
