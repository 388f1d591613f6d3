import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { addOperator, PASSWORD } from "../support/console";
import { startTestHub, type TestHub } from "../support/hub";
import { seedConversation } from "../support/insights";

// The console's Insights view in Debian's Chromium: an agent opens it and reads the figures, the chart of
// turns per day, the unanswered questions and the thumbs, downloads the feedback as CSV, and it fits 375 px.
// With CONSOLE_SCREENSHOTS=<dir>, the view is saved there (the README's docs/console/insights.png).

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.CONSOLE_SCREENSHOTS;
const DAY = 86_400_000;
const QUESTIONS = ["Where is my order?", "How long is the warranty?", "Do you ship to Norway?", "Can I pay by invoice?"];

describe("the console's Insights view, in Chromium", () => {
  let hub: TestHub;
  let browser: Browser;
  let email: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    hub = await startTestHub("postgres");
    ({ email } = await addOperator(hub, hub.orgId, "agent"));
    // Two weeks of widget and WhatsApp turns, noon UTC each day; the warranty question is the one answered.
    const noon = Date.parse(`${new Date().toISOString().slice(0, 10)}T12:00:00Z`);
    for (let d = 13; d >= 0; d--) {
      for (const [channel, turns] of [
        ["ws", 2 + (d % 4)],
        ["whatsapp", 1 + (d % 3)],
      ] as const) {
        const asked = Array.from({ length: turns }, (_, i) => {
          const q = QUESTIONS[(d + i) % QUESTIONS.length];
          return { q, at: noon - d * DAY + i * 60_000, replyMs: 800 + 400 * i, cited: q.includes("warranty") };
        });
        const seeded = await seedConversation(hub, hub.orgId, `${channel}-${d}`, channel, asked, {
          ...(d % 5 === 0 ? { lastHandoffAt: new Date(noon - d * DAY) } : {}),
        });
        if (channel === "ws") await seeded.rate(0, d % 3 ? "up" : "down", d === 0 ? 'Wrong, "again"' : null, noon - d * DAY + 30_000);
      }
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
  });

  const open = async (width: number) => {
    const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1, acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    // The one expected failure is /api/console/me's 401 before signing in; a CSP refusal would show here.
    page.on("console", (m) => m.type() === "error" && !m.text().includes("401") && errors.push(m.text()));
    await page.goto(`${hub.url}/console/`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByLabel("Password").press("Enter");
    await page.getByRole("link", { name: "Insights" }).click();
    await page.getByRole("heading", { name: "Insights" }).waitFor();
    await page.locator(".figures").waitFor();
    return { page, errors, close: () => context.close() };
  };
  const figure = (page: Page, term: string) =>
    page
      .locator(".figures > div", { has: page.locator("dt", { hasText: term }) })
      .locator("dd")
      .first();

  it("shows an agent the figures, turns per day by channel, unanswered questions and thumbs, and downloads the feedback", async () => {
    const { page, errors, close } = await open(1100);
    const expected = (await hub.api("/api/console/insights")).body;
    expect(await figure(page, "Turns").textContent()).toBe(String(expected.turns));
    expect(await figure(page, "Handed to a person").textContent()).toBe(`${Math.round(expected.handoff.rate * 100)} %`);
    expect(await figure(page, "Thumbs up").textContent()).toBe(`${Math.round(expected.feedback.upRate * 100)} %`);
    // A bar segment for each day and channel with turns, and the channels named in the legend.
    expect(await page.locator(".chart svg rect").count()).toBe(expected.turnsByDay.length);
    expect(await page.locator(".legend li").allTextContents()).toEqual(["WhatsApp", "Widget"]);
    expect(await page.getByRole("img", { name: /Turns per day/ }).count()).toBe(1);
    const unanswered = await page.locator(".unanswered li .question").allTextContents();
    expect(unanswered).toEqual(expect.arrayContaining(["Where is my order?", "Do you ship to Norway?", "Can I pay by invoice?"]));
    expect(unanswered).not.toContain("How long is the warranty?");
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, "insights.png") });

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: /Download feedback/ }).click()]);
    expect(download.suggestedFilename()).toMatch(/^feedback-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path()) as string, "utf8");
    expect(csv.split("\r\n").filter(Boolean)).toHaveLength(15);
    expect(csv).toContain(`"Wrong, ""again"""`);
    expect(errors).toEqual([]);
    await close();
  });

  it("fits 375 px, and a narrower period reads again", async () => {
    const { page, errors, close } = await open(375);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, "insights-375.png") });
    const today = new Date().toISOString().slice(0, 10);
    await page.getByLabel("From", { exact: true }).fill(today);
    const todays = (await hub.api(`/api/console/insights?from=${today}&to=${today}`)).body;
    await page
      .locator(".figures dd", { hasText: new RegExp(`^${todays.turns}$`) })
      .first()
      .waitFor();
    expect(await page.locator(".chart svg rect").count()).toBe(2);
    expect(errors).toEqual([]);
    await close();
  });
});
