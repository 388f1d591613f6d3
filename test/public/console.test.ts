import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { connectTo, type TestSocket } from "../adapters/ws/client";
import { addOperator, PASSWORD } from "../support/console";
import { waitFor } from "../support/processes";
import { postWebhook, whatsapp } from "../support/twilio";
import { startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// The operator console in Debian's Chromium (playwright-core, no browser download): an operator signs in,
// sees a WhatsApp conversation arrive and ask for a person, live; takes it over, replies (the fake Twilio gets
// the message; the operators' socket sees them typing), hands it back; and the inbox at 375 px.
// With CONSOLE_SCREENSHOTS=<dir>, the views are saved there (the README's docs/console/*.png).

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = process.env.CONSOLE_SCREENSHOTS;
const HUB_NUMBER = "+14155238886";
const USER = "+351911000222";

describe("the operator console, in Chromium", () => {
  let setup: TwilioHub;
  let browser: Browser;
  let email: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    setup = await startTwilioHub("postgres");
    ({ email } = await addOperator(setup.hub, setup.hub.orgId, "admin"));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await setup?.stop();
  });

  const write = (body: string) => postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(USER, HUB_NUMBER, body));
  const sentToUser = () => setup.twilio.sends.filter((s) => s.to === `whatsapp:${USER}`).map((s) => s.body);
  const shot = async (page: Page, name: string) => {
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  };
  const signIn = async (context: BrowserContext) => {
    const page = await context.newPage();
    await page.goto(`${setup.hub.url}/console/`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByLabel("Password").press("Enter");
    await page.getByRole("heading", { name: /Inbox/ }).waitFor();
    return page;
  };

  it("signs in, sees a WhatsApp conversation arrive and wait live, takes it over, replies, hands it back", async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    const errors: string[] = [];
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    // Not the 401s the page expects (who am I, before signing in; the wrong password): its scripts' errors.
    page.on("console", (m) => m.type() === "error" && !m.text().includes("status of 401") && errors.push(m.text()));
    await page.goto(`${setup.hub.url}/console/`);
    await page.getByLabel("Password").fill("wrong password");
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong email or password" }).waitFor();
    await shot(page, "login");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: /Inbox/ }).waitFor();
    // The session cookie is out of the page's reach.
    expect(await page.evaluate(() => document.cookie)).toBe("");

    // Live: nothing reloads the page from here on.
    expect((await write("Hi")).status).toBe(200);
    const row = page.locator(".row", { hasText: `whatsapp_${USER}` });
    await row.filter({ hasText: "Echo: Hi" }).waitFor();
    await expect(row.locator(".badge.channel").textContent()).resolves.toBe("whatsapp");
    expect((await write("Quero falar com um atendente, por favor")).status).toBe(200);
    await row.locator(".badge.state", { hasText: "Waiting" }).waitFor();
    await row.getByText(/waiting < 1 min/).waitFor();
    await waitFor(() => page.title().then((t) => t === "(1) Console"));
    await shot(page, "inbox");

    await row.click();
    const conversation = page.locator(".conversation");
    await conversation.getByText("Quero falar com um atendente, por favor").waitFor();
    await conversation.getByRole("button", { name: "Take over" }).click();
    await conversation.getByText(`with ${email}`).waitFor();

    // Typing reaches the org's other listeners (here an integrator's socket), under the operator's email.
    const listener: TestSocket = await connectTo(
      setup.hub.url,
      "/ws/operators",
      {},
      { headers: { authorization: `Bearer ${setup.hub.key}` } },
    );
    await listener.next((f) => f.type === "status");
    const reply = conversation.getByLabel("Reply");
    await reply.pressSequentially("Olá, sou a Ana.");
    expect(await listener.next((f) => f.type === "typing")).toMatchObject({ author: { kind: "operator", name: email } });
    await listener.close();
    await conversation.getByRole("button", { name: "Send" }).click();
    await waitFor(() => sentToUser().includes("Olá, sou a Ana."));
    const mine = conversation.locator(".msg.operator", { hasText: "Olá, sou a Ana." });
    await mine.getByText(email).waitFor();
    // Twilio says it was delivered: the transcript shows it with the next change.
    const sid = setup.twilio.sends.find((s) => s.body === "Olá, sou a Ana.")?.sid as string;
    const callback = { MessageSid: sid, MessageStatus: "delivered", AccountSid: setup.twilio.accountSid };
    expect((await postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio/status", callback)).status).toBeLessThan(300);
    // The user answers while the operator has it: shown, held, not answered by the assistant.
    expect((await write("Obrigado!")).status).toBe(200);
    await conversation.locator(".msg.user", { hasText: "Obrigado!" }).locator(".status", { hasText: "held" }).waitFor();
    await mine.locator(".status", { hasText: "delivered" }).waitFor();
    await shot(page, "conversation");

    await conversation.getByRole("button", { name: "Hand back to the assistant" }).click();
    await conversation.getByText("answered by the assistant").waitFor();
    expect((await write("Opening hours?")).status).toBe(200);
    await conversation.locator(".msg.assistant", { hasText: "Echo: Opening hours?" }).waitFor();
    expect(sentToUser()).not.toContain("Echo: Obrigado!");

    await page.getByRole("link", { name: "Operators" }).click();
    await page.getByLabel("Email").fill("agent.smith@example.test");
    await page.getByLabel("Password (10 characters or more)").fill(PASSWORD);
    await page.getByRole("button", { name: "Add" }).click();
    await page.getByRole("cell", { name: "agent.smith@example.test", exact: true }).waitFor();
    await shot(page, "operators");

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    expect((await context.cookies()).filter((c) => c.name === "hub_console")).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("fits the inbox and a conversation in one column at 375 px, with keyboard focus visible", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 1 });
    const page = await signIn(context);
    const row = page.locator(".row", { hasText: `whatsapp_${USER}` });
    await row.waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await shot(page, "inbox-375");

    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { tag: el.tagName, outline: getComputedStyle(el).outlineStyle };
    });
    expect(focused).toEqual({ tag: "A", outline: "solid" });

    await row.click();
    await page.getByRole("link", { name: "← Inbox" }).waitFor();
    expect(await page.locator(".inbox").isVisible()).toBe(false);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await shot(page, "conversation-375");
    await page.getByRole("link", { name: "← Inbox" }).click();
    await row.waitFor();
    await context.close();
  });
});
