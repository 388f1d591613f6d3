import { addOperator, asOperator, signIn } from "../../support/console";
import type { TestHub } from "../../support/hub";
import { createTestOrg, type TestOrg } from "../../support/orgs";
import { startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

// The console's Knowledge, Assistants and Channels views call the management, ask, Twilio numbers and end-user
// secret APIs with the operator's cookie: in the operator's org, admin only where they manage (an agent may
// read the knowledge, add and re-sync documents and try a search), and refused from another site.

const NUMBER = "+14155550123";

describe("the management APIs with the console's cookie", () => {
  let setup: TwilioHub;
  let hub: TestHub;
  let other: TestOrg;
  let admin: TestHub["api"];
  let agent: TestHub["api"];
  let outsider: TestHub["api"];
  let folder: string;
  let document: string;
  let assistant: string;

  beforeAll(async () => {
    setup = await startTwilioHub("postgres");
    hub = setup.hub;
    other = await createTestOrg(hub, "Other");
    const cookieOf = async (orgId: string, role: "admin" | "agent") =>
      (await signIn(hub, (await addOperator(hub, orgId, role)).email)).cookie;
    admin = asOperator(hub, await cookieOf(hub.orgId, "admin"));
    agent = asOperator(hub, await cookieOf(hub.orgId, "agent"));
    outsider = asOperator(hub, await cookieOf(other.orgId, "admin"));
    // The org's knowledge and channel, made with its API key: the integrator's path, unchanged.
    folder = (await hub.api("/api/folders", { body: { name: "Help" } })).body.id;
    const doc = await hub.api(`/api/folders/${folder}/documents`, {
      body: { title: "Hours", content: "The shop opens at nine and closes at five on weekdays." },
    });
    expect(doc.status).toBe(201);
    document = doc.body.id;
    assistant = (await hub.api("/api/assistants/default")).body.id;
    expect((await hub.api(`/api/twilio/numbers/${NUMBER}`, { method: "PUT", body: { assistant: "default" } })).status).toBe(200);
  });
  afterAll(async () => {
    await setup?.stop();
  });

  it("lets an admin manage folders, assistants, numbers and the end-user secret in their org", async () => {
    const created = await admin("/api/folders", { body: { name: "Returns" } });
    expect(created.status).toBe(201);
    expect((await admin("/api/folders")).body.folders.map((f: { name: string }) => f.name)).toEqual(["Help", "Returns"]);
    expect((await admin(`/api/folders/${created.body.id}`, { method: "DELETE" })).status).toBe(204);

    const changed = await admin(`/api/assistants/${assistant}`, {
      method: "PATCH",
      body: { instructions: "Be brief.", suggestions: ["Opening hours?"], handoffPhrases: ["a person"], vision: true },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      instructions: "Be brief.",
      suggestions: ["Opening hours?"],
      handoffPhrases: ["a person"],
      vision: true,
    });

    expect((await admin("/api/twilio/numbers")).body.numbers).toEqual([
      expect.objectContaining({ number: NUMBER, assistantName: "default" }),
    ]);
    const template = { content_sid: `HX${"a".repeat(32)}` };
    const rebound = await admin(`/api/twilio/numbers/${NUMBER}`, { method: "PUT", body: { assistant, reengagement_template: template } });
    expect(rebound.status).toBe(200);
    expect(rebound.body.reengagementTemplate).toEqual({ contentSid: template.content_sid });

    const secret = await admin("/api/ws/end-user-secret", { body: {} });
    expect(secret.status).toBe(200);
    expect(secret.body).toEqual({ org_id: hub.orgId, end_user_secret: expect.stringMatching(/^[\w-]{40,}$/) });
    const org = await hub.runtime.db.prisma.org.findUniqueOrThrow({ where: { id: hub.orgId } });
    expect(org.jwtSecret).toBe(secret.body.end_user_secret);
  });

  it("shows the passages a question finds, in the folders asked or all of the org's", async () => {
    const found = await admin("/api/knowledge/search", { body: { query: "When does the shop open?", folderIds: [folder] } });
    expect(found.status).toBe(200);
    expect(found.body.passages).toEqual([
      expect.objectContaining({ documentTitle: "Hours", content: expect.stringContaining("opens at nine") }),
    ]);
    expect((await agent("/api/knowledge/search", { body: { query: "shop closes" } })).body.passages).toHaveLength(1);
    expect((await admin("/api/knowledge/search", { body: { query: "parking spaces" } })).body.passages).toEqual([]);
    expect((await hub.api("/api/knowledge/search", { body: { query: "shop" } })).body.passages).toHaveLength(1);
    const empty = await admin("/api/knowledge/search", { body: { query: " " } });
    expect(empty).toMatchObject({ status: 400, body: { error: "invalid_message", issues: [expect.objectContaining({ field: "query" })] } });
  });

  it("previews an assistant's reply with the ask API's inline assistant, stored nowhere", async () => {
    const before = await hub.runtime.db.prisma.assistant.count();
    const reply = await admin("/api/ai-hub/assistant/ask", {
      body: {
        assistantId: assistant,
        message: { role: "user", content: "When does the shop open?" },
        foldersId: [folder],
        previewAssistantData: { name: "default", instructions: "Answer from the passages.", provider: "knowledge" },
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.message.content).toContain("opens at nine");
    expect(reply.body.metadata.knowledge_sources).toEqual(["Hours"]);
    expect(await hub.runtime.db.prisma.assistant.count()).toBe(before);
  });

  it("lets an agent read the knowledge and add, re-sync and search documents, and nothing an admin manages", async () => {
    expect((await agent(`/api/folders/${folder}`)).body.documents).toEqual([
      expect.objectContaining({ title: "Hours", status: "ready", error: null }),
    ]);
    const added = await agent(`/api/folders/${folder}/documents`, { body: { title: "Returns", content: "Returns within 30 days." } });
    expect(added.status).toBe(201);
    // A text document has no URL to fetch again: the API's answer, not the role's.
    expect((await agent(`/api/folders/${folder}/documents/${added.body.id}/refresh`, { method: "POST" })).status).toBe(409);

    const forbidden = { status: 403, body: { error: "forbidden", message: "Only an admin may do this" } };
    const refused: [string, { method?: string; body?: unknown }][] = [
      ["/api/folders", { body: { name: "Mine" } }],
      [`/api/folders/${folder}`, { method: "PATCH", body: { public: true } }],
      [`/api/folders/${folder}`, { method: "DELETE" }],
      [`/api/folders/${folder}/documents/${document}`, { method: "DELETE" }],
      ["/api/assistants", {}],
      [`/api/assistants/${assistant}`, { method: "PATCH", body: { instructions: "Say yes to everything." } }],
      ["/api/assistants", { body: { name: "agent-made" } }],
      ["/api/twilio/numbers", {}],
      [`/api/twilio/numbers/${NUMBER}`, { method: "PUT", body: { assistant: "default" } }],
      [`/api/twilio/numbers/${NUMBER}`, { method: "DELETE" }],
    ];
    for (const [path, init] of refused) expect({ path, ...(await agent(path, init)) }).toMatchObject({ path, ...forbidden });
    expect(await agent("/api/ws/end-user-secret", { body: {} })).toMatchObject({ status: 403, body: { error: "forbidden" } });
    const prisma = hub.runtime.db.prisma;
    expect(await prisma.folder.count({ where: { orgId: hub.orgId } })).toBe(1);
    expect(await prisma.document.count({ where: { id: document } })).toBe(1);
    expect((await prisma.twilioNumber.findUniqueOrThrow({ where: { number: NUMBER } })).orgId).toBe(hub.orgId);
  });

  it("answers another org's admin with not found for this org's records", async () => {
    const notFound = { status: 404, body: { error: "not_found" } };
    expect(await outsider(`/api/folders/${folder}`)).toMatchObject(notFound);
    expect(await outsider(`/api/folders/${folder}/documents/${document}`)).toMatchObject(notFound);
    expect(await outsider(`/api/folders/${folder}/documents/${document}`, { method: "DELETE" })).toMatchObject(notFound);
    expect(await outsider(`/api/folders/${folder}/documents`, { body: { title: "x", content: "intrusion" } })).toMatchObject(notFound);
    expect(await outsider(`/api/assistants/${assistant}`, { method: "PATCH", body: { instructions: "intrusion" } })).toMatchObject(
      notFound,
    );
    expect((await outsider("/api/folders")).body.folders).toEqual([]);
    expect((await outsider("/api/twilio/numbers")).body.numbers).toEqual([]);
    const search = await outsider("/api/knowledge/search", { body: { query: "shop", folderIds: [folder] } });
    expect(search).toMatchObject({ status: 400, body: { issues: [{ field: "folderIds", message: "Unknown folder" }] } });
    expect((await outsider("/api/knowledge/search", { body: { query: "shop opens nine" } })).body.passages).toEqual([]);
    expect((await outsider(`/api/twilio/numbers/${NUMBER}`, { method: "PUT", body: { assistant: "default" } })).status).toBe(403);
    expect((await hub.runtime.db.prisma.twilioNumber.findUniqueOrThrow({ where: { number: NUMBER } })).orgId).toBe(hub.orgId);
  });

  it("refuses a state-changing request with the cookie from another site, or with no Origin", async () => {
    const from = (origin: string | undefined) => ({ origin: origin as string });
    const attempts: [string, { method?: string; body?: unknown }][] = [
      ["/api/folders", { body: { name: "Planted" } }],
      [`/api/folders/${folder}/documents`, { body: { url: "https://attacker.example/page" } }],
      [`/api/folders/${folder}/documents/${document}`, { method: "DELETE" }],
      [`/api/assistants/${assistant}`, { method: "PATCH", body: { instructions: "Planted." } }],
      [`/api/twilio/numbers/${NUMBER}`, { method: "DELETE" }],
      ["/api/ws/end-user-secret", { body: { secret: "x".repeat(40) } }],
      ["/api/knowledge/search", { body: { query: "shop" } }],
    ];
    for (const origin of ["https://attacker.example", "http://127.0.0.1:1", ""]) {
      for (const [path, init] of attempts) {
        const res = await admin(path, { ...init, headers: from(origin) });
        expect({ path, origin, status: res.status }).toEqual({ path, origin, status: 403 });
      }
    }
    const ask = await admin("/api/ai-hub/assistant/ask", {
      body: { assistantId: "default", message: { content: "hi" } },
      headers: from("https://attacker.example"),
    });
    expect(ask).toMatchObject({ status: 403, body: { success: false, error: "Cross-site request refused" } });
    const prisma = hub.runtime.db.prisma;
    expect(await prisma.folder.count({ where: { orgId: hub.orgId } })).toBe(1);
    expect(await prisma.document.count({ where: { id: document } })).toBe(1);
    expect((await prisma.org.findUniqueOrThrow({ where: { id: hub.orgId } })).jwtSecret).not.toBe("x".repeat(40));
    // Reading needs no Origin: a link opened in a new tab is no attack.
    expect((await admin("/api/folders", { headers: from("") })).status).toBe(200);
  });
});
