import { splitIntoPassages } from "../../../src/knowledge/split";

const GUIDE = `# Account help

Welcome to the account guide.

## Resetting your password

To reset your password, open the login page and click "Forgot password".

We email you a link; it expires in 24 hours.

## Password rules

Passwords need at least 12 characters.`;

const words = (text: string) => text.match(/\S+/g) ?? [];

describe("splitIntoPassages", () => {
  it("starts each passage with its nearest heading", () => {
    const passages = splitIntoPassages(GUIDE);
    expect(passages).toEqual([
      "# Account help\nWelcome to the account guide.",
      '## Resetting your password\nTo reset your password, open the login page and click "Forgot password".\n\nWe email you a link; it expires in 24 hours.',
      "## Password rules\nPasswords need at least 12 characters.",
    ]);
  });

  it("merges small paragraphs under one heading up to the limit, and no further", () => {
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph number ${i} says a little about topic ${i}.`);
    const passages = splitIntoPassages(`## Topics\n\n${paragraphs.join("\n\n")}`, { maxChars: 200 });
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
    const passages = splitIntoPassages(text);
    for (const passage of passages) expect(passage.length).toBeLessThanOrEqual(800);
    expect(passages.some((p) => p.endsWith("parcels."))).toBe(true);
    expect(passages.join("").replace(/\s/g, "")).toBe(text.replace(/\s/g, ""));
  });

  it("loses no word of the input", () => {
    const text = `${GUIDE}\n\n# Empty section\n\n### Deep heading\n\n${"Lorem ipsum dolor sit amet, consectetur. ".repeat(60)}\n- item one\n- item two`;
    const passages = splitIntoPassages(text, { maxChars: 300 });
    const seen = new Set(passages.flatMap(words));
    for (const word of words(text)) expect(seen).toContain(word);
    for (const passage of passages) expect(passage.length).toBeLessThanOrEqual(300);
  });

  it("normalises whitespace and makes no empty passages", () => {
    const passages = splitIntoPassages("\r\n\r\n  Hello \t  there  \r\n\n\n\n   \n## Next\r\n\r\n  more   text  \n\n");
    expect(passages).toEqual(["Hello there", "## Next\nmore text"]);
    expect(splitIntoPassages("  \n\n \t ")).toEqual([]);
  });

  it("keeps a heading that is too long to repeat as the text of its passage", () => {
    const heading = `## ${"very long heading ".repeat(3).trim()}`;
    const passages = splitIntoPassages(`${heading}\n\nBody text.`, { maxChars: 120 });
    expect(passages).toEqual([`${heading}\n\nBody text.`]);
  });

  it("does not take a comment in a code block for a heading", () => {
    const passages = splitIntoPassages("## Setup\n\n```sh\n# install it\nnpm install\n```");
    expect(passages).toEqual(["## Setup\n```sh\n# install it\nnpm install\n```"]);
  });
});
