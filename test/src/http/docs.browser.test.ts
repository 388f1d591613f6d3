import path from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../support/chromium";
import { startTestHub, type TestHub } from "../../support/hub";

/** A directory to save what the page looked like in, to look at. */
const shots = process.env.DOCS_SCREENSHOTS;

describe("the API reference at /docs, in Chromium", () => {
  let hub: TestHub;
  let browser: Browser;
  beforeAll(async () => {
    hub = await startTestHub("pglite");
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
  });

  it("shows the ask operation, fetches nothing from elsewhere, and its Try it out asks the hub with the key given", async () => {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    page.on("request", (req) => {
      if (!req.url().startsWith(`${hub.url}/`) && !req.url().startsWith("data:")) elsewhere.push(req.url());
    });
    await page.goto(`${hub.url}/docs`);
    const ask = page.locator("#operations-AI_Hub_ask-askAssistant");
    await ask.locator(".opblock-summary-path", { hasText: "/api/ai-hub/assistant/ask" }).waitFor();
    if (shots) await page.screenshot({ path: path.join(shots, "docs.png") });

    await page.locator("button.authorize").first().click();
    await page.locator(".auth-container", { hasText: "bearerAuth" }).locator("input").fill(hub.key);
    await page.locator(".auth-container", { hasText: "bearerAuth" }).locator("button.authorize").click();
    await page.locator("button.btn-done").first().click();

    await ask.locator(".opblock-summary").click();
    await ask.locator("button.try-out__btn").click();
    const request = { message: { id: "docs-try-1", content: "Hello from the reference" }, id: "docs-try", assistantId: "default" };
    await ask.locator("textarea.body-param__text").fill(JSON.stringify(request));
    await ask.locator("button.execute").click();
    const status = ask.locator(".live-responses-table tr.response .response-col_status").first();
    await status.waitFor();
    expect((await status.textContent())?.trim()).toMatch(/^200\b/);
    await ask.locator(".live-responses-table .microlight", { hasText: '"conversation_id": "docs-try"' }).first().waitFor();
    if (shots) await ask.locator(".live-responses-table").screenshot({ path: path.join(shots, "docs-response.png") });

    const stored = await hub.api("/api/conversations/docs-try/history");
    expect(stored.body.messages.map((m: { content: string }) => m.content)).toContain("Hello from the reference");
    expect(elsewhere).toEqual([]);
    await page.close();
  });
});
