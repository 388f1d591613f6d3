import { createKnowledgeProvider } from "../../../src/assistants/knowledge";
import type { AssistantRequest, Passage } from "../../../src/assistants/provider";
import type { AssistantProfile } from "../../../src/types";

const assistant: AssistantProfile = {
  id: null,
  name: "Helpdesk",
  description: "",
  instructions: "Answer from the knowledge folders.",
  provider: "knowledge",
  model: null,
  folderIds: [],
  suggestions: [],
};

const passage = (documentTitle: string, content: string, rank: number): Passage => ({
  documentId: documentTitle,
  documentTitle,
  content,
  heading: null,
  page: null,
  anchor: null,
  sourceUrl: null,
  rank,
});
const RESET = passage("Password_Policy_v2", '## Resetting your password\nClick "Forgot password" on the login page.', 0.5);
const RULES = passage("Password_Policy_v2", "## Password rules\nPasswords need at least 12 characters.", 0.45);
const SHIPPING = passage("Shipping_FAQ", "We ship parcels within three working days.", 0.1);

async function ask(passages: Passage[], signal?: AbortSignal) {
  const deltas: string[] = [];
  const request: AssistantRequest = { assistant, history: [], message: "How do I reset my password?", passages, signal };
  const reply = await createKnowledgeProvider().reply(request, (text) => deltas.push(text));
  return { reply, deltas };
}

describe("the knowledge assistant", () => {
  it("is named knowledge", () => {
    expect(createKnowledgeProvider().name).toBe("knowledge");
  });

  it("answers with the best passage in full and cites its document", async () => {
    const { reply } = await ask([RESET, SHIPPING]);
    expect(reply.content).toContain(RESET.content);
    expect(reply.content).not.toContain(SHIPPING.content);
    expect(reply.content.endsWith("Sources: Password_Policy_v2")).toBe(true);
    expect(reply.sources).toEqual(["Password_Policy_v2"]);
  });

  it("adds a second passage only when it ranks close to the best, naming each document once", async () => {
    const { reply } = await ask([RESET, RULES, SHIPPING]);
    expect(reply.content).toContain(RESET.content);
    expect(reply.content).toContain(RULES.content);
    expect(reply.sources).toEqual(["Password_Policy_v2"]);

    const mixed = await ask([SHIPPING, passage("Returns", "Returns are free.", 0.09)]);
    expect(mixed.reply.sources).toEqual(["Shipping_FAQ", "Returns"]);
    expect(mixed.reply.content.endsWith("Sources: Shipping_FAQ, Returns")).toBe(true);
  });

  it("streams the reply in word-sized deltas that add up to it", async () => {
    const { reply, deltas } = await ask([RESET, RULES]);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join("")).toBe(reply.content);
    for (const delta of deltas) expect(delta.trim().split(/\s+/).length).toBeLessThanOrEqual(3);
  });

  it("says the knowledge base does not cover the question when no passage matched", async () => {
    const { reply, deltas } = await ask([]);
    expect(reply.content).toMatch(/Nothing in Helpdesk's knowledge base covers/);
    expect(reply.content).toMatch(/rephras/);
    expect(reply.sources).toEqual([]);
    expect(reply.citations).toEqual([]);
    expect(deltas.join("")).toBe(reply.content);
  });

  it("cites the passages it answers with: document, heading, page and the link to their section", async () => {
    const web = { ...RESET, heading: "Account > Resetting your password", anchor: "reset", sourceUrl: "https://help.example/account" };
    const pdf = { ...RULES, documentId: "rules-pdf", documentTitle: "Rules.pdf", page: 3 };
    const { reply } = await ask([web, pdf, SHIPPING]);
    expect(reply.citations).toEqual([
      {
        documentId: web.documentId,
        title: "Password_Policy_v2",
        heading: "Account > Resetting your password",
        page: null,
        url: "https://help.example/account#reset",
      },
      { documentId: "rules-pdf", title: "Rules.pdf", heading: null, page: 3, url: null },
    ]);
  });

  it("estimates the tokens used from the prompt and the reply", async () => {
    const { reply } = await ask([RESET]);
    const chars = assistant.instructions.length + "How do I reset my password?".length + RESET.content.length + reply.content.length;
    expect(reply.tokensUsed).toBe(Math.ceil(chars / 4));
  });

  it("stops when the request is aborted", async () => {
    const controller = new AbortController();
    const deltas: string[] = [];
    const request: AssistantRequest = { assistant, history: [], message: "reset", passages: [RESET, RULES], signal: controller.signal };
    const pending = createKnowledgeProvider().reply(request, (text) => {
      deltas.push(text);
      controller.abort();
    });
    await expect(pending).rejects.toThrow();
    expect(deltas).toHaveLength(1);
  });
});
