import { toPlainText, toWhatsApp } from "../../../adapters/twilio/render";
import { createTwilioSender } from "../../../adapters/twilio/sender";
import { MAX_BODY, splitWhatsApp } from "../../../adapters/twilio/split";
import type { Db } from "../../../src/db/database";

describe("writing an assistant's Markdown for WhatsApp", () => {
  it("turns bold, italic and strikethrough into WhatsApp's marks", () => {
    expect(toWhatsApp("Open **Monday** and __Tuesday__, *not* _Sunday_, ~~never~~ at night.")).toBe(
      "Open *Monday* and *Tuesday*, _not_ _Sunday_, ~never~ at night.",
    );
  });

  it("nests marks, and keeps them against the text, which WhatsApp needs to read them", () => {
    expect(toWhatsApp("***Both*** and **bold with _italic_ inside**")).toBe("_*Both*_ and *bold with _italic_ inside*");
    expect(toWhatsApp("a **<br>bold** b")).toBe("a \n*bold* b");
    // Not emphasis in Markdown (a closing mark after a space): the characters stay as they are.
    expect(toWhatsApp("**bold *italic* **")).toBe("**bold _italic_ **");
  });

  it("writes a heading in bold on a line of its own, without marks nested inside it", () => {
    expect(toWhatsApp("## Opening **hours**\nWe are open.")).toBe("*Opening hours*\n\nWe are open.");
    expect(toWhatsApp("Intro\n\n# Title\n\nBody")).toBe("Intro\n\n*Title*\n\nBody");
  });

  it("writes bullets as • and keeps numbered lists' numbers, nested lists indented under their item", () => {
    const markdown = "- Saturday: **10 to 2**\n- Sunday: closed\n  1. except\n  2. holidays\n\n3. third\n4. fourth";
    expect(toWhatsApp(markdown)).toBe("• Saturday: *10 to 2*\n• Sunday: closed\n  1. except\n  2. holidays\n\n3. third\n4. fourth");
  });

  it("shows a task list's boxes", () => {
    expect(toWhatsApp("- [x] receipt\n- [ ] photo")).toBe("• ☑ receipt\n• ☐ photo");
  });

  it("writes links out as their text and address, or the address alone when it is the text", () => {
    expect(toWhatsApp("See [our *calendar*](https://shop.example/cal) or <https://shop.example>.")).toBe(
      "See our _calendar_ (https://shop.example/cal) or https://shop.example.",
    );
    expect(toWhatsApp("Write to help@shop.example or [https://a.example](https://a.example).")).toBe(
      "Write to help@shop.example or https://a.example.",
    );
  });

  it("sends an image as its address", () => {
    expect(toWhatsApp("Here: ![the map](https://shop.example/map.png)")).toBe("Here: https://shop.example/map.png");
  });

  it("puts inline code and code blocks in monospace, their contents untouched", () => {
    expect(toWhatsApp("Run `npm i **x**` now")).toBe("Run ```npm i **x**``` now");
    expect(toWhatsApp("```js\nconst a = 2 ** 3; // _x_\n```")).toBe("```\nconst a = 2 ** 3; // _x_\n```");
  });

  it("keeps escaped characters as characters, not marks", () => {
    expect(toWhatsApp("2 \\* 3 \\* 4 and a\\_b\\_c")).toBe("2 * 3 * 4 and a_b_c");
  });

  it("writes a table as one line a row, each cell named by its column", () => {
    const markdown = "| Plan | Price | Seats |\n|---|--:|---|\n| Basic | **5 €** | 1 |\n| Pro | 12 € | |";
    expect(toWhatsApp(markdown)).toBe("• Plan: Basic; Price: *5 €*; Seats: 1\n• Plan: Pro; Price: 12 €");
  });

  it("quotes a quote, and drops HTML tags but keeps their text", () => {
    expect(toWhatsApp("> Keep the *receipt*\n> always")).toBe("> Keep the _receipt_\n> always");
    expect(toWhatsApp("Press <b>Send</b><br>then wait")).toBe("Press Send\nthen wait");
    expect(toWhatsApp("<div>Hello <b>there</b></div>\n\n<!-- note -->\n\nBye")).toBe("Hello there\n\nBye");
  });

  it("leaves text without Markdown as it was", () => {
    const text = "Hello Ana, your order 1234 ships today: 2 kettles at 5 * 3 = 15 €.";
    expect(toWhatsApp(text)).toBe(text);
  });
});

describe("writing an assistant's Markdown for SMS", () => {
  it("drops every mark and keeps the words", () => {
    const markdown = "## Opening *hours*\n\nOpen **Monday** to ~~Sunday~~ _Friday_; run `help`.\n\n```\ncode block\n```\n\n> quoted";
    expect(toPlainText(markdown)).toBe("Opening hours\n\nOpen Monday to Sunday Friday; run help.\n\ncode block\n\nquoted");
  });

  it("keeps to ASCII list marks, so the message stays in the GSM alphabet", () => {
    expect(toPlainText("- one\n- [x] two\n  - nested\n\n---\n\n1. first")).toBe("- one\n- [x] two\n  - nested\n\n---\n\n1. first");
  });

  it("writes links, images and tables out the same way as for WhatsApp", () => {
    expect(toPlainText("[**Hours**](https://shop.example/h) ![m](https://shop.example/m.png)")).toBe(
      "Hours (https://shop.example/h) https://shop.example/m.png",
    );
    expect(toPlainText("| Plan | Price |\n|---|---|\n| Basic | **5** |")).toBe("- Plan: Basic; Price: 5");
  });
});

describe("splitting a rendered reply", () => {
  it("cuts a long WhatsApp reply into parts within Twilio's limit, with no Markdown left in them", () => {
    const section = (i: number) => `## Part ${i}\n\n${"The **kettle** boils _fast_. ".repeat(12)}\n\n- one\n- two`;
    const markdown = Array.from({ length: 12 }, (_, i) => section(i + 1)).join("\n\n");
    const parts = splitWhatsApp(toWhatsApp(markdown));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => p.length <= MAX_BODY)).toBe(true);
    const text = parts.join("\n");
    expect(text).not.toMatch(/\*\*|##|^- /m);
    expect(text.match(/^\*Part \d+\*$/gm)).toHaveLength(12);
    expect(text.match(/\*kettle\*/g)).toHaveLength(12 * 12);
  });
});

describe("the Twilio sender's parts", () => {
  const sender = createTwilioSender({
    accountSid: "AC0",
    authToken: "token",
    publicUrl: "https://hub.example",
    prisma: {} as Db,
    perSecond: { whatsapp: 80, sms: 1 },
  });
  const SMS = { via: "twilio", from: "+15550001111", to: "+351910000000" } as const;

  it("sends a reply that renders to nothing as it was written, never an empty body", () => {
    expect(sender.split("[docs]: https://shop.example/docs", SMS)).toEqual(["[docs]: https://shop.example/docs"]);
    expect(sender.split("**Hello**", SMS)).toEqual(["Hello"]);
  });
});
