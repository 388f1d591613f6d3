import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { startTestHub, type TestHub } from "../support/hub";

// Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it), driven by playwright-core: no browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const WARRANTY = `# Warranty\n\nEvery kettle has a two-year warranty. To claim it, send a photo of the receipt to the support team.`;

describe("the chat widget on the demo page, in Chromium", () => {
  let hub: TestHub;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    hub = await startTestHub("postgres");
    const folder = (await hub.api("/api/folders", { body: { name: "Products", public: true } })).body.id;
    await hub.api(`/api/folders/${folder}/documents`, { body: { title: "Kettle_Warranty", content: WARRANTY } });
    await hub.runtime.db.prisma.assistant.updateMany({
      where: { orgId: hub.orgId, name: "default" },
      data: { suggestions: ["How do I claim the warranty?"] },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
  });

  it("answers a question about a folder's document as it streams, then a suggestion chip's question", async () => {
    const page = await browser.newPage();
    const received: { type: string; content?: string }[] = [];
    page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => received.push(JSON.parse(String(payload)))));
    await page.goto(hub.url);

    const input = page.locator(".hubchat input");
    await input.fill("How long is the kettle warranty?");
    await input.press("Enter");
    await page.locator(".hubchat-user", { hasText: "How long is the kettle warranty?" }).waitFor();
    const answer = page.locator(".hubchat-bot").first();
    await answer.filter({ hasText: "two-year warranty" }).waitFor();
    await page.locator(".hubchat-bot:not(.hubchat-streaming)").first().waitFor();
    // The knowledge assistant answers at once: its reply comes as one batched delta before the message.
    const deltas = received.filter((f) => f.type === "delta");
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    expect(deltas.map((d) => d.content).join("")).toBe(await answer.textContent());
    expect(await answer.textContent()).toBe(received.find((f) => f.type === "message" && "sender" in f && f.sender === "bot")?.content);

    const chip = page.locator(".hubchat-chip", { hasText: "How do I claim the warranty?" });
    await chip.click();
    await page.locator(".hubchat-user", { hasText: "How do I claim the warranty?" }).waitFor();
    await page.locator(".hubchat-bot").nth(1).filter({ hasText: "photo of the receipt" }).waitFor();
    expect(await page.locator(".hubchat-user").count()).toBe(2);
    expect(await page.locator(".hubchat-bot").count()).toBe(2);
  });
});
