import type { Browser } from "playwright-core";
import { launchChromium } from "../support/chromium";
import { startTestHub, type TestHub } from "../support/hub";

// The hub's pages under its Content-Security-Policy (src/http/security.ts), in Chromium: each renders, and
// the browser reports no violation of the policy. (The widget's demo page: widget.test.ts.)

describe("the hub's pages under its CSP, in Chromium", () => {
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

  it.each([
    ["the queue dashboard", "/admin/queues", "text=ask"],
    ["the API reference", "/docs", "h1"],
  ])("renders %s with no CSP violation", async (_what, path, shown) => {
    const context = await browser.newContext({ httpCredentials: { username: "operator", password: hub.key } });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(hub.url + path);
    await page.locator(shown).first().waitFor({ timeout: 30_000 });
    expect(violations).toEqual([]);
    await context.close();
  });
});
