import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";
import { startTestHub, type TestHub } from "../support/hub";
import { waitFor } from "../support/processes";

// Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it), driven by playwright-core: no browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const WARRANTY = `# Warranty\n\nEvery kettle has a two-year warranty. To claim it, send a photo of the receipt to the support team.`;
const HOURS = `## Opening hours\n\nThe shop opens **Monday to Friday**, _nine to five_. See [our calendar](https://shop.example/calendar).`;
// A passage someone slipped into a folder: the knowledge assistant quotes it, HTML and all.
const DESCALING = (beacon: string) =>
  [
    "Descaling the toaster: use vinegar.",
    `<img src=x onerror="window.__pwned = 'img'"> <svg onload="window.__pwned = 'svg'"></svg>`,
    "<script>window.__pwned = 'script'</script>",
    `[click](javascript:window.__pwned='link') [again](JaVaScRiPt:alert(1)) [data](data:text/html,<script>alert(1)</script>)`,
    `<a href="javascript:alert(1)" onclick="window.__pwned = 'onclick'">raw link</a> <iframe src="javascript:alert(1)"></iframe>`,
    `<p style="background: url(${beacon}/style)">styled</p> ![pixel](${beacon}/img) <img src="${beacon}/raw">`,
    `<form action="${beacon}/form"><button formaction="javascript:alert(1)">go</button></form>`,
  ].join("\n\n");

describe("the chat widget on the demo page, in Chromium", () => {
  let hub: TestHub;
  let browser: Browser;
  // Another site, which embeds the widget with the one tag the demo page shows. On 127.0.0.1 too (another
  // port, so another origin): Chromium keeps pages of public addresses from loading scripts of loopback ones.
  let shop: Server;
  let shopUrl: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    shop = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<!doctype html><title>Shop</title><h1>Shop</h1><script src="${hub.url}/widget.js" data-open="true"></script>`);
    });
    await new Promise<void>((resolve) => shop.listen(0, "127.0.0.1", resolve));
    shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
    hub = await startTestHub("postgres", { WS_ALLOWED_ORIGINS: shopUrl });
    // English said, not detected: one of its documents is mostly markup, which no detector reads as English.
    const folder = (await hub.api("/api/folders", { body: { name: "Products", public: true, language: "en" } })).body.id;
    const documents = { Kettle_Warranty: WARRANTY, Hours: HOURS, Descaling: DESCALING(`${hub.url}/beacon`) };
    for (const [title, content] of Object.entries(documents)) {
      expect((await hub.api(`/api/folders/${folder}/documents`, { body: { title, content } })).status).toBe(201);
    }
    await hub.runtime.db.prisma.assistant.updateMany({
      where: { orgId: hub.orgId, name: "default" },
      data: { suggestions: ["How do I claim the warranty?"] },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    await new Promise((resolve) => shop?.close(resolve));
  });

  const ask = async (page: Page, question: string) => {
    const input = page.locator(".hubchat input");
    await input.fill(question);
    await input.press("Enter");
    await page.locator(".hubchat-user", { hasText: question }).waitFor();
  };
  /** The n-th reply, once final and rendered as Markdown. */
  const renderedReply = (page: Page, n: number) => page.locator(".hubchat-bot.hubchat-markdown:not(.hubchat-streaming)").nth(n);

  it("answers a question about a folder's document as it streams, then a suggestion chip's question", async () => {
    const page = await browser.newPage();
    const received: { type: string; content?: string; sender?: string }[] = [];
    page.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => received.push(JSON.parse(String(payload)))));
    await page.goto(hub.url);

    await ask(page, "How long is the kettle warranty?");
    const answer = renderedReply(page, 0);
    await answer.filter({ hasText: "two-year warranty" }).waitFor();
    // The knowledge assistant answers at once: its reply comes as one batched delta before the message.
    const deltas = received.filter((f) => f.type === "delta");
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    const message = received.find((f) => f.type === "message" && f.sender === "bot");
    expect(deltas.map((d) => d.content).join("")).toBe(message?.content);
    expect(message?.content).toContain("# Warranty");
    expect(await answer.locator("h1").textContent()).toBe("Warranty");
    // The hub's own citations: the document and the heading the passage sits under (an upload: no link).
    expect(message).toMatchObject({ citations: [expect.objectContaining({ title: "Kettle_Warranty", url: null })] });
    expect(await answer.locator(".hubchat-sources li").allTextContents()).toEqual(["Kettle_Warranty › Warranty"]);

    const chip = page.locator(".hubchat-chip", { hasText: "How do I claim the warranty?" });
    await chip.click();
    await page.locator(".hubchat-user", { hasText: "How do I claim the warranty?" }).waitFor();
    await page.locator(".hubchat-bot").nth(1).filter({ hasText: "photo of the receipt" }).waitFor();
    expect(await page.locator(".hubchat-user").count()).toBe(2);
    expect(await page.locator(".hubchat-bot").count()).toBe(2);
  });

  it("shows an operator writing, then their message under their name", async () => {
    const page = await browser.newPage();
    await page.goto(hub.url);
    await ask(page, "Can a person help me?");
    await renderedReply(page, 0).waitFor();
    const session = await waitFor(() => page.evaluate(() => Object.entries(localStorage).find(([k]) => k.startsWith("hubchat:"))?.[1]));
    const { conversationId } = await hub.runtime.db.prisma.chatSession.findUniqueOrThrow({ where: { id: JSON.parse(session).session } });

    await hub.runtime.bus.publish({ type: "operator_typing", orgId: hub.orgId, conversationId, author: { kind: "operator", name: "Ana" } });
    await page.locator(".hubchat-typing").waitFor({ state: "visible" });
    expect((await hub.api(`/api/inbox/${conversationId}/messages`, { body: { content: "Ana here: **yes**", author: "Ana" } })).status).toBe(
      201,
    );
    const message = renderedReply(page, 1);
    await message.filter({ hasText: "Ana here" }).waitFor();
    expect(await message.locator(".hubchat-author").textContent()).toBe("Ana");
    expect(await message.locator("strong").textContent()).toBe("yes");
    expect(await page.locator(".hubchat-typing").isHidden()).toBe(true);
    await page.close();
  });

  it("renders a reply's Markdown as elements, its links opening in a new tab, and shows the user's own text as typed", async () => {
    const page = await browser.newPage();
    await page.goto(hub.url);
    const question = "When are the **opening hours**? <b>now</b>";
    await ask(page, question);
    const answer = renderedReply(page, 0);
    await answer.filter({ hasText: "Monday to Friday" }).waitFor();
    expect(await answer.locator("h2").textContent()).toBe("Opening hours");
    expect(await answer.locator("strong").textContent()).toBe("Monday to Friday");
    expect(await answer.locator("em").textContent()).toBe("nine to five");
    const link = answer.locator("a", { hasText: "our calendar" });
    expect(await link.getAttribute("href")).toBe("https://shop.example/calendar");
    expect(await link.getAttribute("target")).toBe("_blank");
    expect(await link.getAttribute("rel")).toBe("noopener noreferrer");
    expect(await answer.textContent()).not.toMatch(/\*\*|##|\]\(/);

    const mine = page.locator(".hubchat-user");
    expect(await mine.textContent()).toBe(question);
    expect(await mine.locator("*").count()).toBe(0);
  });

  it("lets no script, event handler, javascript: link, frame, style or image of a reply into the page, and runs nothing", async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const beacons: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/beacon")) beacons.push(request.url());
    });
    await page.goto(hub.url);

    await ask(page, "How do I descale the toaster?");
    const answer = renderedReply(page, 0);
    await answer.filter({ hasText: "Descaling the toaster" }).waitFor();
    const found = await page.locator(".hubchat-log").evaluate((log) => {
      // The widget's own thumbs (buttons with a drawn icon) aside: everything else came from the reply.
      const elements = Array.from(log.querySelectorAll("*")).filter((e) => !e.closest(".hubchat-thumbs"));
      return {
        tags: [...new Set(elements.map((e) => e.tagName.toLowerCase()))].sort(),
        attributes: [...new Set(elements.flatMap((e) => e.getAttributeNames()))].sort(),
        links: Array.from(log.querySelectorAll("a")).map((a) => a.getAttribute("href")),
      };
    });
    expect(found.tags.filter((t) => ["script", "img", "svg", "iframe", "form", "button", "style"].includes(t))).toEqual([]);
    expect(found.attributes.filter((a) => a.startsWith("on") || ["style", "src", "action", "formaction"].includes(a))).toEqual([]);
    expect(found.links.filter((href) => href !== null && !/^(https?|mailto|tel):/.test(href))).toEqual([]);
    // The words stay readable: only the markup went.
    expect(await answer.textContent()).toContain("raw link");

    // Another question and its answer: time for anything that could have fired to have done so.
    await ask(page, "How long is the kettle warranty?");
    await renderedReply(page, 1).filter({ hasText: "two-year warranty" }).waitFor();
    expect(await page.evaluate(() => (window as { __pwned?: string }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(beacons).toEqual([]);
  });

  it("renders a reply as it streams, and its citations as links when its message carries them", async () => {
    const page = await browser.newPage();
    // Between the page and the hub: the bot's final message is held back until the streamed text was seen
    // rendered, and goes on with citations, as the hub sends them for folders that know their sources.
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const citations = [
      { documentId: "d1", title: "Hours", heading: "Opening hours", page: null, url: "https://shop.example/hours#opening" },
      { documentId: "d2", title: "Manual", heading: null, page: 3, url: null },
      { documentId: "d3", title: "Forged", heading: null, page: null, url: "javascript:alert(1)" },
    ];
    await page.routeWebSocket(/\/ws/, (ws) => {
      const server = ws.connectToServer();
      server.onMessage(async (payload) => {
        const frame = JSON.parse(String(payload));
        if (frame.type !== "message" || frame.sender !== "bot") return ws.send(payload);
        await released;
        ws.send(JSON.stringify({ ...frame, citations }));
      });
    });
    await page.goto(hub.url);

    await ask(page, "When are the opening hours?");
    const streaming = page.locator(".hubchat-bot.hubchat-streaming.hubchat-markdown");
    await streaming.locator("strong", { hasText: "Monday to Friday" }).waitFor();
    expect(await streaming.locator("h2").textContent()).toBe("Opening hours");
    release();

    const answer = renderedReply(page, 0);
    const sources = answer.locator(".hubchat-sources li");
    await sources.first().waitFor();
    expect(await sources.allTextContents()).toEqual(["Hours › Opening hours", "Manual, p. 3", "Forged"]);
    const links = answer.locator(".hubchat-sources a");
    expect(await links.count()).toBe(1);
    expect(await links.getAttribute("href")).toBe("https://shop.example/hours#opening");
    expect(await links.getAttribute("target")).toBe("_blank");
    expect(await links.getAttribute("rel")).toBe("noopener noreferrer");
  });

  it("renders replies on another site's page too: the renderer loads from the hub across origins", async () => {
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on("response", (res) => {
      if (res.status() >= 400) refused.push(res.url());
    });
    page.on("requestfailed", (req) => refused.push(req.url()));
    await page.goto(shopUrl);
    await ask(page, "When are the opening hours?");
    await renderedReply(page, 0).locator("strong", { hasText: "Monday to Friday" }).waitFor();
    expect(refused).toEqual([]);
    // The widget's modules left nothing behind on the host page.
    expect(await page.evaluate(() => ["marked", "DOMPurify"].filter((name) => name in window))).toEqual([]);
  });

  it("serves the renderer's libraries from the hub, to pages of any origin", async () => {
    for (const file of ["marked.esm.js", "purify.es.mjs"]) {
      const res = await fetch(`${hub.url}/widget/vendor/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(await res.text()).toMatch(/export\s*\{/);
    }
    expect((await fetch(`${hub.url}/widget/vendor/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${hub.url}/widget/vendor/marked.umd.js`)).status).toBe(404);
  });
});
