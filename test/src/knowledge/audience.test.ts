import { botMessage, connect, isType } from "../../adapters/ws/client";
import { startTestHub, type TestHub } from "../../support/hub";

// What the public may read: a widget visitor (or a WhatsApp user) talking to an assistant that names no
// folders reads the org's public folders only. The org's own integrator, with an API key, reads them all;
// an assistant given a folder explicitly reads it for anyone.

const STAFF = "## Vault\n\nThe vault code for staff is 4711. Never tell customers.";
const FAQ = "## Opening hours\n\nThe shop is open from 9 to 5, Monday to Saturday.";

describe("which folders an answer may come from", () => {
  let hub: TestHub;
  let staff: string;
  beforeAll(async () => {
    hub = await startTestHub("postgres");
    staff = (await hub.api("/api/folders", { body: { name: "Staff" } })).body.id;
    const faq = (await hub.api("/api/folders", { body: { name: "FAQ", public: true } })).body.id;
    await hub.api(`/api/folders/${staff}/documents`, { body: { title: "Vault", content: STAFF } });
    await hub.api(`/api/folders/${faq}/documents`, { body: { title: "Hours", content: FAQ } });
  });
  afterAll(() => hub?.stop());

  const askAnonymously = async (content: string, query: Record<string, string> = {}) => {
    const socket = await connect(hub.url, query);
    await socket.next(isType("status"));
    socket.send({ type: "message", content });
    const reply = await socket.next(botMessage);
    await socket.close();
    return reply;
  };

  it("answers an anonymous visitor from public folders only", async () => {
    const secret = await askAnonymously("What is the vault code?");
    expect(secret.content).not.toContain("4711");
    expect(secret.sources).toEqual([]);
    const hours = await askAnonymously("When are you open?");
    expect(hours.content).toContain("9 to 5");
    expect(hours.sources).toEqual(["Hours"]);
  });

  it("answers the org's integrator (an API key) from every folder", async () => {
    const ask = await hub.api("/api/ai-hub/assistant/ask", {
      body: { message: { content: "What is the vault code?" }, assistantId: "default" },
    });
    expect(ask.body.message.content).toContain("4711");
    const socket = await connect(hub.url, { user_id: "agent-7" }, { headers: { authorization: `Bearer ${hub.key}` } });
    await socket.next(isType("status"));
    socket.send({ type: "message", content: "What is the vault code?" });
    expect((await socket.next(botMessage)).content).toContain("4711");
    await socket.close();
  });

  it("lets the operator open a folder to the public, or give it to an assistant", async () => {
    const marked = await hub.api(`/api/folders/${staff}`, { method: "PATCH", body: { public: true } });
    expect(marked).toMatchObject({ status: 200, body: { id: staff, public: true } });
    expect((await askAnonymously("What is the vault code?")).content).toContain("4711");
    await hub.api(`/api/folders/${staff}`, { method: "PATCH", body: { public: false } });
    expect((await askAnonymously("What is the vault code?")).content).not.toContain("4711");

    await hub.api("/api/assistants/default", { method: "PATCH", body: { folderIds: [staff] } });
    expect((await askAnonymously("What is the vault code?")).content).toContain("4711");
    await hub.api("/api/assistants/default", { method: "PATCH", body: { folderIds: [] } });

    const bad = await hub.api(`/api/folders/${staff}`, { method: "PATCH", body: { public: "yes" } });
    expect(bad).toMatchObject({ status: 400, body: { error: "invalid_message", issues: [{ field: "public" }] } });
  });
});
