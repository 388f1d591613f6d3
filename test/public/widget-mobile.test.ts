import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/chromium";
import { startTestHub, type TestHub } from "../support/hub";

// An iPhone SE's or a small Android's width in CSS pixels, as a phone's browser lays the page out.
const PHONE = { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

describe("the chat widget on the demo page, on a phone's screen in Chromium", () => {
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

  const openPhonePage = async (): Promise<Page> => {
    const context = await browser.newContext(PHONE);
    const page = await context.newPage();
    await page.goto(hub.url);
    // Connected: the form is enabled.
    await page.locator(".hubchat form button:enabled").waitFor();
    return page;
  };

  it("does not scroll sideways, and keeps the panel's close and send buttons on screen and usable", async () => {
    const page = await openPhonePage();
    if (process.env.WIDGET_SCREENSHOT) await page.screenshot({ path: process.env.WIDGET_SCREENSHOT });
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: innerWidth }));
    expect(widths.inner).toBe(375);
    expect(widths.scroll).toBeLessThanOrEqual(widths.inner);

    for (const selector of [".hubchat-close", ".hubchat form button"]) {
      const box = await page.locator(selector).boundingBox();
      expect(box).not.toBeNull();
      const { x, y, width, height } = box as NonNullable<typeof box>;
      expect({ selector, left: x >= 0, top: y >= 0, right: x + width <= 375, bottom: y + height <= 667 }).toEqual({
        selector,
        left: true,
        top: true,
        right: true,
        bottom: true,
      });
    }

    // Send, by a tap: the question shows, then an answer.
    await page.locator(".hubchat input").fill("Hello there");
    await page.locator(".hubchat form button").tap();
    await page.locator(".hubchat-user", { hasText: "Hello there" }).waitFor();
    await page.locator(".hubchat-bot").first().waitFor();
    // Close, by a tap: the panel goes, the launcher comes back.
    await page.locator(".hubchat-close").tap();
    await page.locator(".hubchat-panel").waitFor({ state: "hidden" });
    await page.locator(".hubchat-bubble").waitFor({ state: "visible" });
    await page.context().close();
  });

  it("draws the launcher's icon as an inline SVG, which needs no emoji font", async () => {
    const page = await openPhonePage();
    await page.locator(".hubchat-close").tap();
    const launcher = page.locator(".hubchat-bubble");
    await launcher.waitFor({ state: "visible" });
    if (process.env.WIDGET_SCREENSHOT) await page.screenshot({ path: process.env.WIDGET_SCREENSHOT.replace(/\.png$/, "-closed.png") });
    expect(await launcher.locator("svg").count()).toBe(1);
    expect((await launcher.textContent())?.trim()).toBe("");
    const icon = await launcher.locator("svg").boundingBox();
    expect(icon?.width).toBeGreaterThan(16);
    await launcher.tap();
    await page.locator(".hubchat-panel").waitFor({ state: "visible" });
    await page.context().close();
  });
});
