import fc from "fast-check";
import { splitIntoChunks } from "../../../src/knowledge/split";

const GUIDE = `# Account help

Welcome to the account guide.

## Resetting your password

To reset your password, open the login page and click "Forgot password".

We email you a link; it expires in 24 hours.

## Password rules

Passwords need at least 12 characters.`;

const words = (text: string) => text.match(/\S+/g) ?? [];
const contents = (text: string, opts?: { maxChars?: number; overlap?: number }) => splitIntoChunks(text, opts).map((c) => c.content);

describe("splitIntoChunks: passage text", () => {
  it("starts each passage with its nearest heading", () => {
    expect(contents(GUIDE)).toEqual([
      "# Account help\nWelcome to the account guide.",
      '## Resetting your password\nTo reset your password, open the login page and click "Forgot password".\n\nWe email you a link; it expires in 24 hours.',
      "## Password rules\nPasswords need at least 12 characters.",
    ]);
  });

  it("merges small paragraphs under one heading up to the limit, and no further", () => {
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph number ${i} says a little about topic ${i}.`);
    const passages = contents(`## Topics\n\n${paragraphs.join("\n\n")}`, { maxChars: 200 });
    expect(passages.length).toBeGreaterThan(1);
    expect(passages.length).toBeLessThan(paragraphs.length);
    for (const passage of passages) {
      expect(passage.length).toBeLessThanOrEqual(200);
      expect(passage.startsWith("## Topics\n")).toBe(true);
    }
  });

  it("cuts a long paragraph at sentences, a long sentence at words, and a long word anywhere", () => {
    const sentences = Array.from({ length: 40 }, (_, i) => `Sentence ${i} is about the shipping of parcels.`).join(" ");
    const longSentence = Array.from({ length: 300 }, (_, i) => `word${i}`).join(" ");
    const blob = "x".repeat(2000);
    const text = `Intro line.\n\n${sentences}\n\n${longSentence}\n\n${blob}`;
    const passages = contents(text, { overlap: 0 });
    for (const passage of passages) expect(passage.length).toBeLessThanOrEqual(800);
    expect(passages.some((p) => p.endsWith("parcels."))).toBe(true);
    expect(passages.join("").replace(/\s/g, "")).toBe(text.replace(/\s/g, ""));
  });

  it("loses no word of the input", () => {
    const text = `${GUIDE}\n\n# Empty section\n\n### Deep heading\n\n${"Lorem ipsum dolor sit amet, consectetur. ".repeat(60)}\n- item one\n- item two`;
    const passages = contents(text, { maxChars: 300 });
    const seen = new Set(passages.flatMap(words));
    for (const word of words(text)) expect(seen).toContain(word);
    for (const passage of passages) expect(passage.length).toBeLessThanOrEqual(300);
  });

  it("normalises whitespace and makes no empty passages", () => {
    expect(contents("\r\n\r\n  Hello \t  there  \r\n\n\n\n   \n## Next\r\n\r\n  more   text  \n\n")).toEqual([
      "Hello there",
      "## Next\nmore text",
    ]);
    expect(contents("  \n\n \t ")).toEqual([]);
    expect(contents("\f \f\n\f")).toEqual([]);
  });

  it("keeps a heading that is too long to repeat as the text of its passage", () => {
    const heading = `## ${"very long heading ".repeat(3).trim()}`;
    expect(contents(`${heading}\n\nBody text.`, { maxChars: 120 })).toEqual([`${heading}\n\nBody text.`]);
  });

  it("does not take a comment in a code block for a heading, and keeps the code's indentation", () => {
    expect(contents("## Setup\n\n```sh\n# install it\nnpm install\n```")).toEqual(["## Setup\n```sh\n# install it\nnpm install\n```"]);
    expect(contents("```py\ndef f():\n    return  1\n```")).toEqual(["```py\ndef f():\n    return  1\n```"]);
  });
});

describe("splitIntoChunks: where each passage sits", () => {
  const HELP = `# Returns {#returns}

Items can be returned within 30 days.

## Refunds

Refunds reach your card in 5 days.

## Exchanges {#swap .note}

Exchange any size once.

### In store

Bring the receipt.

# Shipping

We ship worldwide.`;

  it("gives the heading path, and the anchor of the nearest heading that has one, which the text no longer shows", () => {
    const chunks = splitIntoChunks(HELP);
    expect(chunks.map(({ heading, anchor }) => ({ heading, anchor }))).toEqual([
      { heading: "Returns", anchor: "returns" },
      { heading: "Returns > Refunds", anchor: "returns" },
      { heading: "Returns > Exchanges", anchor: "swap" },
      { heading: "Returns > Exchanges > In store", anchor: "swap" },
      { heading: "Shipping", anchor: null },
    ]);
    expect(chunks[2].content).toBe("## Exchanges\nExchange any size once.");
    expect(chunks.every((c) => !c.content.includes("{#"))).toBe(true);
    expect(chunks.every((c) => c.page === null)).toBe(true);
  });

  it("puts the heading of an empty section on top of its subsection's passages, not in a passage alone", () => {
    const chunks = splitIntoChunks("# Store {#store}\n\n## Hours\n\n### Weekdays\n\nNine to five.\n\n# Empty\n\n# Contact\n\nCall us.");
    expect(chunks.map(({ content, heading, anchor }) => ({ content, heading, anchor }))).toEqual([
      { content: "# Store\n## Hours\n### Weekdays\nNine to five.", heading: "Store > Hours > Weekdays", anchor: "store" },
      { content: "# Empty", heading: "Empty", anchor: null },
      { content: "# Contact\nCall us.", heading: "Contact", anchor: null },
    ]);
    // Headings that would take too much of a passage stay in passages of their own.
    expect(contents("# Store\n\n## Opening hours of the store\n\nNine to five.", { maxChars: 120 })).toEqual([
      "# Store",
      "## Opening hours of the store\nNine to five.",
    ]);
  });

  it("has no heading before the first one, and reads setext headings and closing hashes", () => {
    const chunks = splitIntoChunks(
      "Preface.\n\nOpening hours\n=============\n\nNine to five.\n\nHolidays {#holidays}\n--------\n\nClosed.\n\n### Notes ###\n\nNone.",
    );
    expect(chunks.map(({ content, heading, anchor }) => ({ content, heading, anchor }))).toEqual([
      { content: "Preface.", heading: null, anchor: null },
      { content: "# Opening hours\nNine to five.", heading: "Opening hours", anchor: null },
      { content: "## Holidays\nClosed.", heading: "Opening hours > Holidays", anchor: "holidays" },
      { content: "### Notes\nNone.", heading: "Opening hours > Holidays > Notes", anchor: "holidays" },
    ]);
  });

  it("numbers pages by form feeds, giving each passage the page its body starts on", () => {
    const pdf = "Cover text.\f# Terms\n\nFirst term.\f\fSecond term, on page four.\n\n## Late\f\fAfter two breaks.";
    const chunks = splitIntoChunks(pdf);
    expect(chunks.map(({ content, page }) => ({ content, page }))).toEqual([
      { content: "Cover text.", page: 1 },
      { content: "# Terms\nFirst term.\n\nSecond term, on page four.", page: 2 },
      { content: "## Late\nAfter two breaks.", page: 6 },
    ]);
    // The second passage starts with the sentence it repeats from the first, which is on page 1.
    const split = splitIntoChunks(`# Terms\n\n${"Page one says this. ".repeat(8)}\f${"Page two says that. ".repeat(16)}`, {
      maxChars: 200,
    });
    expect(split.map((c) => [c.content.slice(8, 27), c.page])).toEqual([
      ["Page one says this.", 1],
      ["Page one says this.", 1],
      ["Page two says that.", 2],
    ]);
  });
});

describe("splitIntoChunks: structure", () => {
  const header = "| Plan | Price | Seats |\n| --- | ---: | --- |";
  const rows = Array.from({ length: 40 }, (_, i) => `| Plan ${i} | ${i * 10} EUR | ${i + 1} |`);
  const table = `${header}\n${rows.join("\n")}`;

  it("keeps a table that fits whole, with the text around it", () => {
    const text = `## Prices\n\nOur plans:\n\n${rows.slice(0, 3).join("\n").replace(/^/, `${header}\n`)}\n\nPrices include VAT.`;
    expect(contents(text)).toEqual([`## Prices\nOur plans:\n\n${header}\n${rows.slice(0, 3).join("\n")}\n\nPrices include VAT.`]);
  });

  it("cuts a long table between rows, repeating the header row and delimiter row in each piece", () => {
    const passages = contents(`## Prices\n\n${table}`, { maxChars: 300 });
    expect(passages.length).toBeGreaterThan(3);
    for (const passage of passages) {
      expect(passage.length).toBeLessThanOrEqual(300);
      expect(passage.startsWith(`## Prices\n${header}\n| Plan `)).toBe(true);
    }
    const pieceRows = passages.flatMap((p) => p.split("\n").slice(3));
    expect(pieceRows).toEqual(rows);
  });

  it("keeps a list whole when it fits, and cuts a long one between items", () => {
    const short = "- Apples\n- Pears\n  - Conference\n- Plums";
    expect(contents(`## Fruit\n\n${short}`)).toEqual([`## Fruit\n${short}`]);
    const items = Array.from({ length: 30 }, (_, i) => `${i + 1}. Turn handle ${i + 1}.`);
    const passages = contents(`## Steps\n\n${items.join("\n")}`, { maxChars: 200 });
    expect(passages.length).toBeGreaterThan(3);
    const lines = passages.flatMap((p) => p.split("\n").slice(1));
    for (const item of items) expect(lines).toContain(item);
    // Only whole items; a passage that repeats the end of the one before repeats its last item.
    for (const line of lines) expect(items).toContain(line);
    expect(lines.length).toBeGreaterThan(items.length);
  });

  it("cuts a long code block between lines", () => {
    const code = Array.from({ length: 60 }, (_, i) => `  const value${i} = compute(${i});`);
    const passages = contents(`## Code\n\n\`\`\`js\n${code.join("\n")}\n\`\`\``, { maxChars: 250 });
    expect(passages.length).toBeGreaterThan(3);
    const lines = passages.flatMap((p) => p.split("\n"));
    for (const line of code) expect(lines).toContain(line);
  });
});

describe("splitIntoChunks: overlap", () => {
  const sentences = Array.from({ length: 30 }, (_, i) => `Fact ${i} is true.`);

  it("starts each later passage of a section with the last sentence of the one before", () => {
    const passages = contents(`## Facts\n\n${sentences.join(" ")}\n\n## Other\n\nAlone here.`, { maxChars: 200 });
    const facts = passages.filter((p) => p.startsWith("## Facts\n"));
    expect(facts.length).toBeGreaterThan(2);
    for (let i = 1; i < facts.length; i++) {
      const previousLast = facts[i - 1].split(/(?<=\.) /).at(-1)!;
      expect(facts[i].startsWith(`## Facts\n${previousLast} `)).toBe(true);
      expect(previousLast.length).toBeLessThanOrEqual(30);
    }
    // Not across headings.
    expect(passages.at(-1)).toBe("## Other\nAlone here.");
  });

  it("is bounded by the overlap option, and off at zero", () => {
    const long = Array.from({ length: 20 }, (_, i) => `Sentence ${i} runs on for a good while before it stops here.`).join(" ");
    const passages = contents(long, { maxChars: 200, overlap: 20 });
    expect(passages[1].startsWith("it stops here. Sentence ")).toBe(true);
    const none = contents(long, { maxChars: 200, overlap: 0 });
    expect(none.join(" ")).toBe(long);
  });
});

describe("splitIntoChunks: properties", () => {
  const word = fc.stringMatching(/^[a-zA-Z0-9äöüçãéßøł]{1,12}$/);
  const phrase = (max: number) => fc.array(word, { minLength: 1, maxLength: max }).map((ws) => ws.join(" "));
  const sentence = phrase(12).map((p) => `${p}.`);
  const paragraph = fc.array(sentence, { minLength: 1, maxLength: 8 }).map((ss) => ss.join(" "));
  const heading = fc
    .tuple(fc.integer({ min: 1, max: 4 }), phrase(6), fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/)))
    .map(([level, title, anchor]) => `${"#".repeat(level)} ${title}${anchor ? ` {#${anchor}}` : ""}`);
  const list = fc
    .array(fc.tuple(fc.constantFrom("- ", "* ", "1. ", "  - "), phrase(10)), { minLength: 1, maxLength: 12 })
    .map((items) => items.map(([marker, text], i) => (i === 0 ? marker.trim() : marker) + (i === 0 ? " " : "") + text).join("\n"));
  const cell = fc.stringMatching(/^[a-zA-Z0-9]{1,8}$/);
  const table = fc.integer({ min: 1, max: 4 }).chain((columns) =>
    fc
      .array(fc.array(cell, { minLength: columns, maxLength: columns }), { minLength: 1, maxLength: 30 })
      .map((rows) => rows.map((cells) => `| ${cells.join(" | ")} |`))
      .map(([header, ...body]) => [header, `|${" --- |".repeat(columns)}`, ...body].join("\n")),
  );
  const code = fc
    .array(fc.tuple(fc.constantFrom("", "  ", "    # "), phrase(8)), { minLength: 1, maxLength: 20 })
    .map((lines) => ["```", ...lines.map(([indent, text]) => indent + text), "```"].join("\n"));
  const body = fc.oneof(paragraph, list, table, code, fc.constant("\f"));
  const document = (withHeadings: boolean) =>
    fc.array(withHeadings ? fc.oneof(body, heading) : body, { minLength: 1, maxLength: 25 }).map((blocks) => blocks.join("\n\n"));
  const maxChars = fc.integer({ min: 60, max: 1000 });

  it("keeps every passage within maxChars, and every word of the input", () => {
    fc.assert(
      fc.property(document(true), maxChars, (text, max) => {
        const chunks = splitIntoChunks(text, { maxChars: max });
        for (const chunk of chunks) expect(chunk.content.length).toBeLessThanOrEqual(max);
        const seen = new Set(chunks.flatMap((c) => words(c.content)));
        for (const w of words(text.replace(/ \{#[^}]*\}/g, ""))) expect(seen).toContain(w);
      }),
      { numRuns: 300 },
    );
  });

  it("drops and repeats nothing when overlap is off and there are no headings or tables", () => {
    const plain = fc.array(fc.oneof(paragraph, list, code, fc.constant("\f")), { minLength: 1, maxLength: 25 }).map((b) => b.join("\n\n"));
    fc.assert(
      fc.property(plain, maxChars, (text, max) => {
        const chunks = splitIntoChunks(text, { maxChars: max, overlap: 0 });
        expect(chunks.map((c) => c.content.replace(/\s/g, "")).join("")).toBe(text.replace(/\s/g, ""));
      }),
      { numRuns: 300 },
    );
  });

  it("starts every piece of a table with its header row and delimiter row, and never cuts a row", () => {
    fc.assert(
      fc.property(paragraph, table, paragraph, fc.integer({ min: 0, max: 600 }), (before, tbl, after, extra) => {
        const [header, delimiter, ...rows] = tbl.split("\n");
        // Room for the heading line, the header repeated twice over and the longest row.
        const max = 10 + 4 * (header.length + delimiter.length) + Math.max(0, ...rows.map((r) => r.length)) + extra;
        const chunks = splitIntoChunks(`## Prices\n\n${before}\n\n${tbl}\n\n${after}`, { maxChars: max });
        const seenRows: string[] = [];
        for (const { content } of chunks) {
          const lines = content.split("\n");
          const first = lines.findIndex((line) => line.startsWith("|"));
          if (first < 0) continue;
          expect(lines.slice(first, first + 2)).toEqual([header, delimiter]);
          seenRows.push(...lines.slice(first + 2).filter((line) => line.startsWith("|")));
        }
        expect(seenRows).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });

  it("holds on any input: bounded, non-empty passages with pages in order, and null pages without form feeds", () => {
    const markdownish = fc.constantFrom(
      "\n",
      "\n\n",
      "\f",
      "# ",
      "## ",
      "- ",
      "1. ",
      "| a | b |\n|---|---|\n",
      "```\n",
      " {#x}",
      "===",
      "---",
      ". ",
    );
    const anything = fc
      .array(fc.oneof(fc.string({ unit: "binary", maxLength: 80 }), markdownish), { maxLength: 60 })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(anything, fc.integer({ min: 2, max: 400 }), (text, max) => {
        const chunks = splitIntoChunks(text, { maxChars: max });
        const pages = text.split("\f").length;
        let previous = 0;
        for (const chunk of chunks) {
          expect(chunk.content.length).toBeLessThanOrEqual(max);
          expect(chunk.content.trim()).not.toBe("");
          expect(chunk.content).not.toContain("\f");
          if (pages === 1) expect(chunk.page).toBeNull();
          else {
            expect(chunk.page).toBeGreaterThanOrEqual(Math.max(previous, 1));
            expect(chunk.page).toBeLessThanOrEqual(pages);
            previous = chunk.page!;
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("splitIntoChunks: hostile input", () => {
  // A backtracking pattern once took minutes over such a heading, holding the whole process: the test's
  // timeout is what fails then, with room to spare on a busy machine.
  it("reads a 2 MB heading with an unclosed `{#` at once", () => {
    const chunks = splitIntoChunks(`# a {#${"x".repeat(2_000_000)}\n\nBody.`);
    expect(chunks.at(-1)).toMatchObject({ anchor: null, content: expect.stringContaining("Body.") });
  }, 30_000);

  it("keeps heading paths short however long the headings, so passages do not multiply the document's size", () => {
    const sections = Array.from({ length: 2000 }, (_, i) => `## Part ${i} {#p${i}}\n\nText ${i}.`).join("\n\n");
    const markdown = `# ${"Title ".repeat(20_000)}\n\n${sections}`;
    const chunks = splitIntoChunks(markdown);
    expect(chunks.length).toBeGreaterThanOrEqual(2000);
    for (const chunk of chunks) expect(chunk.heading!.length).toBeLessThanOrEqual(500);
    expect(chunks.find((c) => c.content.endsWith("Text 5."))).toMatchObject({
      anchor: "p5",
      heading: expect.stringMatching(/^Title Title .*… > Part 5$/),
    });
    const stored = chunks.reduce((sum, c) => sum + c.content.length + c.heading!.length, 0);
    // A few times the document, as any short sections make it; not its long title once for each section.
    expect(stored).toBeLessThan(markdown.length * 5);
  });
});
