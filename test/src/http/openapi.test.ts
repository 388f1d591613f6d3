import { startTestHub, type TestHub } from "../../support/hub";

describe("the OpenAPI document and the API reference page", () => {
  let hub: TestHub;
  let doc: any;
  beforeAll(async () => {
    hub = await startTestHub("pglite");
    const res = await fetch(`${hub.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(() => hub?.stop());

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

  it("serves a reference page rendered from the document, with nothing fetched from elsewhere", async () => {
    const res = await fetch(`${hub.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    for (const path of Object.keys(doc.paths)) expect(html).toContain(`<code>${path}</code>`);
    expect(html).toContain("default 50");
    expect(html).not.toMatch(/<script|<link|https?:\/\/(?!json-schema)/);
  });
});
