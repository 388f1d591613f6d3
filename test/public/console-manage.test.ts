import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/chromium";
import { addOperator, PASSWORD } from "../support/console";
import { makePdf } from "../support/documents";
import { waitFor } from "../support/processes";
import { startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// The console's Knowledge, Assistants and Channels views in Debian's Chromium: an admin makes a folder, drops a
// PDF on it and sees it become ready, adds a Markdown file with the keyboard, asks the "try it" box and sees
// the passage; edits an assistant and previews its reply before saving; rebinds a WhatsApp number and rotates
// the widget's end-user secret; and the three views at 375 px. CONSOLE_SCREENSHOTS=<dir> saves them.

const SHOTS = process.env.CONSOLE_SCREENSHOTS;
const NUMBER = "+14155550177";
const POLICY = "You may return any item within 30 days of delivery.";

describe("the console's knowledge, assistants and channels, in Chromium", () => {
  let setup: TwilioHub;
  let browser: Browser;
  let email: string;

  beforeAll(async () => {
    setup = await startTwilioHub("postgres");
    ({ email } = await addOperator(setup.hub, setup.hub.orgId, "admin"));
    expect((await setup.hub.api(`/api/twilio/numbers/${NUMBER}`, { method: "PUT", body: { assistant: "default" } })).status).toBe(200);
    browser = await launchChromium();
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await setup?.stop();
  });

  const prisma = () => setup.hub.runtime.db.prisma;
  /** The view's panel scrolls on its own: `show` is scrolled into sight first. */
  const shot = async (page: Page, name: string, show?: string) => {
    if (show) await page.locator(show).first().scrollIntoViewIfNeeded();
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  };
  const signIn = async (width: number, height = 800, as = email) => {
    const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && !m.text().includes("status of 401") && errors.push(m.text()));
    await page.goto(`${setup.hub.url}/console/`);
    await page.getByLabel("Email").fill(as);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByLabel("Password").press("Enter");
    await page.getByRole("heading", { name: /Inbox/ }).waitFor();
    return { page, errors, close: () => context.close() };
  };

  it("uploads a PDF by drag and drop, sees it ready, finds its passage, previews and saves an assistant, manages channels", async () => {
    const { page, errors, close } = await signIn(1200, 900);
    await page.getByRole("link", { name: "Knowledge" }).click();
    await page.getByLabel("New folder").fill("Help");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "Help", exact: true }).waitFor();

    // Dropped on the drop zone, as a file dragged from the desktop.
    const pdf = await makePdf([["Returns policy", POLICY, "Refunds reach your card in five working days."]], "Returns policy");
    const dropped = await page.evaluateHandle((b64) => {
      const transfer = new DataTransfer();
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], "returns.pdf", { type: "application/pdf" }));
      return transfer;
    }, pdf.toString("base64"));
    await page.dispatchEvent(".drop", "drop", { dataTransfer: dropped });
    const row = page.locator("tr.doc", { hasText: "Returns policy" });
    await row.locator(".badge", { hasText: "ready" }).waitFor({ timeout: 30_000 });
    await row.getByText(/pdf · \d+ passages?$/).waitFor();

    // The keyboard's way: the file picker behind a button.
    const chooser = page.waitForEvent("filechooser");
    await page.getByRole("button", { name: "Choose files…" }).focus();
    await page.keyboard.press("Enter");
    await (await chooser).setFiles({
      name: "faq.md",
      mimeType: "text/markdown",
      buffer: Buffer.from("# Delivery\n\nParcels arrive in two days."),
    });
    await page.locator("tr.doc", { hasText: "faq.md" }).locator(".badge", { hasText: "ready" }).waitFor({ timeout: 30_000 });

    await page.getByLabel("Question").fill("How many days do I have to return an item?");
    await page.getByRole("button", { name: "Search" }).click();
    const passage = page.locator(".passage").first();
    await passage.getByText("within 30 days").waitFor();
    await expect(passage.locator(".meta").textContent()).resolves.toContain("Returns policy");
    await shot(page, "knowledge", ".passages");

    await page.getByRole("link", { name: "Assistants" }).click();
    await page.getByRole("heading", { name: "default", exact: true }).waitFor();
    await page.getByLabel("Instructions").fill("Answer from the help folder only.");
    await page.getByLabel("Provider").selectOption("knowledge");
    await page.getByLabel("Suggestions (one a line, shown to users as chips)").fill("How do returns work?\nWhen does my parcel come?");
    await page.getByLabel("Handoff message (empty: the hub's)").fill("A colleague will be with you shortly.");
    await page.getByLabel(/Hand off after this many answers/).fill("3");
    await page.getByLabel("Vision: its model reads users' photos").check();
    // Previewed with the unsaved form: nothing is stored yet.
    await page.getByLabel("Question").fill("Can I return an item?");
    await page.getByRole("button", { name: "Preview" }).click();
    await page.locator(".reply-preview").getByText(POLICY).waitFor();
    await page.locator(".reply-preview").getByText("Drew on: Returns policy", { exact: true }).waitFor();
    expect((await prisma().assistant.findFirstOrThrow({ where: { orgId: setup.hub.orgId, name: "default" } })).instructions).not.toContain(
      "help folder",
    );
    // The form keeps what was typed across the preview.
    await expect(page.getByLabel("Instructions").inputValue()).resolves.toBe("Answer from the help folder only.");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved default.").waitFor();
    await shot(page, "assistants", ".reply-preview");
    expect(await prisma().assistant.findFirstOrThrow({ where: { orgId: setup.hub.orgId, name: "default" } })).toMatchObject({
      instructions: "Answer from the help folder only.",
      provider: "knowledge",
      suggestions: ["How do returns work?", "When does my parcel come?"],
      handoffMessage: "A colleague will be with you shortly.",
      handoffAfterMisses: 3,
      vision: true,
    });
    await page.getByLabel("New assistant").fill("sales");
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: "sales", exact: true }).waitFor();

    await page.getByRole("link", { name: "Channels" }).click();
    const number = page.getByRole("form", { name: `Number ${NUMBER}` });
    await number.getByLabel("Assistant").selectOption({ label: "sales" });
    await number.getByLabel("Re-engagement template (Content SID)").fill(`HX${"0123456789abcdef".repeat(2)}`);
    await number.getByRole("button", { name: "Save" }).click();
    await number.getByText(`Saved ${NUMBER}.`).waitFor();
    const bound = await prisma().twilioNumber.findUniqueOrThrow({ where: { number: NUMBER }, include: { assistant: true } });
    expect({ assistant: bound.assistant.name, template: bound.reengagementContentSid }).toEqual({
      assistant: "sales",
      template: `HX${"0123456789abcdef".repeat(2)}`,
    });
    await expect(page.getByLabel(/Add this tag/).inputValue()).resolves.toContain(`data-org="${setup.hub.orgId}"`);
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Rotate the end-user secret" }).click();
    const secret = page.getByLabel(/New end-user secret/);
    await secret.waitFor();
    const org = await prisma().org.findUniqueOrThrow({ where: { id: setup.hub.orgId } });
    await expect(secret.inputValue()).resolves.toBe(org.jwtSecret);
    await shot(page, "channels");
    expect(errors).toEqual([]);
    await close();
  });

  it("fits the knowledge, assistants and channels views in 375 px, with keyboard focus visible", async () => {
    const { page, errors, close } = await signIn(375);
    for (const [view, heading] of [
      ["Knowledge", "Help"],
      ["Assistants", "default"],
      ["Channels", "Website widget"],
    ]) {
      await page.getByRole("link", { name: view }).click();
      await page.getByRole("heading", { name: heading, exact: true }).waitFor();
      await waitFor(async () => (await page.evaluate(() => document.documentElement.scrollWidth)) <= 375, 5000, `${view} to fit 375 px`);
      if (view === "Knowledge") await shot(page, "knowledge-375");
    }
    await page.getByRole("link", { name: "Knowledge" }).click();
    await page.getByLabel("New folder").focus();
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { text: el.textContent, outline: getComputedStyle(el).outlineStyle };
    });
    expect(focused).toEqual({ text: "Create", outline: "solid" });
    expect(errors).toEqual([]);
    await close();
  });

  it("shows an agent the knowledge to read, add to and try, without what only an admin may do", async () => {
    const agent = await addOperator(setup.hub, setup.hub.orgId, "agent");
    const { page, errors, close } = await signIn(1000, 800, agent.email);
    await expect(page.getByRole("navigation", { name: "Console" }).getByRole("link").allTextContents()).resolves.toEqual([
      "Inbox",
      "Knowledge",
    ]);
    await page.getByRole("link", { name: "Knowledge" }).click();
    await page.locator("tr.doc", { hasText: "Returns policy" }).waitFor();
    await page.getByRole("button", { name: "Choose files…" }).waitFor();
    expect(await page.getByLabel("New folder").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Delete/ }).count()).toBe(0);
    await page.getByLabel("Question").fill("When do refunds reach my card?");
    await page.getByRole("button", { name: "Search" }).click();
    await page.locator(".passage").getByText("five working days").waitFor();
    // The admin's views are not there by their address either.
    await page.goto(`${setup.hub.url}/console/#/assistants`);
    await page.getByRole("heading", { name: /Inbox/ }).waitFor();
    expect(errors).toEqual([]);
    await close();
  });
});
