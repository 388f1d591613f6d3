import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { botMessage, connect, isType } from "../adapters/ws/client";
import { startTestHub, type TestHub } from "../support/hub";
import { waitFor } from "../support/processes";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const WARRANTY = "# Warranty\n\nEvery kettle has a two-year warranty. To claim it, send a photo of the receipt to the support team.";

describe("thumbs on the widget's answers, in Chromium", () => {
  let hub: TestHub;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    hub = await startTestHub("postgres");
    const folder = (await hub.api("/api/folders", { body: { name: "Products", public: true, language: "en" } })).body.id;
    await hub.api(`/api/folders/${folder}/documents`, { body: { title: "Kettle_Warranty", content: WARRANTY } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
  });

  it("stores a visitor's thumbs down on an answer, then their change of mind, as one row; another session may not rate it", async () => {
    const prisma = hub.runtime.db.prisma;
    const page = await browser.newPage();
    await page.goto(hub.url);
    const input = page.locator(".hubchat input");
    await input.fill("How long is the kettle warranty?");
    await input.press("Enter");
    const answer = page.locator(".hubchat-bot", { hasText: "two-year warranty" });
    const down = answer.getByRole("button", { name: "Not helpful" });
    const up = answer.getByRole("button", { name: "Helpful", exact: true });
    await down.waitFor();
    expect(await down.getAttribute("aria-pressed")).toBe("false");

    await down.click();
    await page.locator('.hubchat-bot .hubchat-thumb-down[aria-pressed="true"]').waitFor();
    const [row] = await waitFor(async () => {
      const rows = await prisma.feedback.findMany({ include: { message: true } });
      return rows.length ? rows : null;
    });
    expect(row).toMatchObject({ rating: "down", orgId: hub.orgId, comment: null });
    expect(row.message.role).toBe("assistant");
    expect(row.message.content).toContain("two-year warranty");

    await up.click();
    await page.locator('.hubchat-bot .hubchat-thumb-up[aria-pressed="true"]').waitFor();
    expect(await down.getAttribute("aria-pressed")).toBe("false");
    const rows = await prisma.feedback.findMany();
    expect(rows).toEqual([expect.objectContaining({ id: row.id, messageId: row.messageId, rating: "up" })]);
    // A reload resumes the session, with the thumb it pressed.
    await page.reload();
    await page.locator('.hubchat-bot .hubchat-thumb-up[aria-pressed="true"]').waitFor();

    // Another visitor who knows the answer's id gets not_found, as for an id that does not exist; nothing stored.
    const stranger = await connect(hub.url);
    await stranger.next(isType("status"));
    stranger.send({ type: "feedback", message_id: row.messageId, rating: "down" });
    expect(await stranger.next(isType("error"))).toMatchObject({ code: "not_found" });
    // Nor is a user message of one's own conversation an answer to rate.
    stranger.send({ type: "message", content: "How long is the kettle warranty?" });
    const own = await stranger.next(isType("message"));
    await stranger.next(botMessage);
    stranger.send({ type: "feedback", message_id: own.id, rating: "up" });
    expect(await stranger.next(isType("error"))).toMatchObject({ code: "not_found" });
    stranger.send({ type: "feedback", message_id: row.messageId, rating: "meh" });
    expect(await stranger.next(isType("error"))).toMatchObject({ code: "invalid_message" });
    await stranger.close();
    expect(await prisma.feedback.findMany()).toEqual([expect.objectContaining({ id: row.id, rating: "up" })]);
    await page.close();
  });
});
