import { createApiKey } from "../../../src/auth/keys";
import { startTestHub, type TestHub } from "../../support/hub";

describe("management API: assistants and knowledge folders", () => {
  let hub: TestHub;
  let otherKey: string;
  beforeAll(async () => {
    hub = await startTestHub("postgres");
    const other = await hub.runtime.db.prisma.org.create({ data: { name: "Other" } });
    otherKey = (await createApiKey(hub.runtime.db.prisma, other.id, "other")).secret;
  });
  afterAll(() => hub?.stop());

  it("creates, lists, reads and updates assistants", async () => {
    const folder = (await hub.api("/api/folders", { body: { name: "Docs" } })).body;
    const created = await hub.api("/api/assistants", {
      body: { name: "support", instructions: "Be brief.", folderIds: [folder.id], suggestions: ["Opening hours", "Talk to a human"] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "support",
      deployed: true,
      folderIds: [folder.id],
      suggestions: ["Opening hours", "Talk to a human"],
    });

    const list = await hub.api("/api/assistants");
    expect(list.body.assistants.map((a: { name: string }) => a.name)).toEqual(["default", "support"]);
    expect((await hub.api("/api/assistants/support")).body.id).toBe(created.body.id);

    const updated = await hub.api(`/api/assistants/${created.body.id}`, { method: "PATCH", body: { deployed: false, model: "gpt-4o" } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ deployed: false, model: "gpt-4o", instructions: "Be brief." });
  });

  it("refuses bad assistants with 400 naming the field, duplicates with 409", async () => {
    const bad = await hub.api("/api/assistants", { body: { name: "", provider: "gpt" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("invalid_message");
    expect(bad.body.issues.map((i: { field: string }) => i.field).sort()).toEqual(["name", "provider"]);
    const unknownField = await hub.api("/api/assistants", { body: { name: "x", colour: "red" } });
    expect(unknownField.status).toBe(400);
    const foreignFolder = await hub.api("/api/assistants", { body: { name: "y", folderIds: ["6f1c1e1e-0000-4000-8000-000000000000"] } });
    expect(foreignFolder.status).toBe(400);
    await hub.api("/api/assistants", { body: { name: "twice" } });
    expect((await hub.api("/api/assistants", { body: { name: "twice" } })).status).toBe(409);
  });

  it("adds documents as JSON or as a Markdown upload, splits them into passages, and deletes them", async () => {
    const folder = (await hub.api("/api/folders", { body: { name: "Manuals", description: "Product manuals" } })).body;
    const json = await hub.api(`/api/folders/${folder.id}/documents`, {
      body: { title: "Setup", content: "# Setup\n\nPlug it in.\n\n## Wi-Fi\n\nHold the button." },
    });
    expect(json.status).toBe(201);
    expect(json.body.passages).toBeGreaterThan(0);

    const upload = await fetch(`${hub.url}/api/folders/${folder.id}/documents?title=returns.md`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.key}`, "content-type": "text/markdown" },
      body: "# Returns\n\nYou can return any item within 30 days.",
    });
    expect(upload.status).toBe(201);
    const listed = (await hub.api(`/api/folders/${folder.id}`)).body;
    expect(listed.documents.map((d: { title: string }) => d.title)).toEqual(["Setup", "returns.md"]);
    expect((await hub.api("/api/folders")).body.folders.find((f: { id: string }) => f.id === folder.id).documents).toBe(2);

    expect((await hub.api(`/api/folders/${folder.id}/documents/${json.body.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await hub.api(`/api/folders/${folder.id}`)).body.documents).toHaveLength(1);
    expect((await hub.api(`/api/folders/${folder.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await hub.api(`/api/folders/${folder.id}`)).status).toBe(404);
  });

  it("refuses documents without a title or content", async () => {
    const folder = (await hub.api("/api/folders", { body: { name: "Empty" } })).body;
    const res = await hub.api(`/api/folders/${folder.id}/documents`, { body: { content: "" } });
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { field: string }) => i.field).sort()).toEqual(["content", "title"]);
    const upload = await fetch(`${hub.url}/api/folders/${folder.id}/documents`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.key}`, "content-type": "text/plain" },
      body: "no title given",
    });
    expect(upload.status).toBe(400);
  });

  it("never shows one org's assistants or folders to another", async () => {
    const folder = (await hub.api("/api/folders", { body: { name: "Secret" } })).body;
    const as = (path: string, init: { method?: string; body?: unknown } = {}) =>
      hub.api(path, { ...init, headers: { authorization: `Bearer ${otherKey}` } });
    expect((await as("/api/folders")).body.folders).toEqual([]);
    expect((await as(`/api/folders/${folder.id}`)).status).toBe(404);
    expect((await as(`/api/folders/${folder.id}/documents`, { body: { title: "x", content: "y" } })).status).toBe(404);
    expect((await as(`/api/folders/${folder.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await as("/api/assistants/support")).status).toBe(404);
    expect((await as("/api/assistants")).body.assistants).toEqual([]);
  });

  it("answers requests without a key with 401 and unknown ids with 404", async () => {
    const res = await fetch(`${hub.url}/api/folders`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "unauthorized" });
    expect((await hub.api("/api/folders/not-a-uuid")).status).toBe(404);
    expect((await hub.api("/api/assistants/nobody")).status).toBe(404);
  });
});

describe("health", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub("pglite");
  });
  afterAll(() => hub?.stop());

  it("reports live and ready when Redis and the database answer", async () => {
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${hub.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", redis: "ok", database: "ok" });
  });
});
