import { MAX_BODY, splitBody, splitWhatsApp } from "../../../adapters/twilio/split";

describe("splitting a reply for Twilio's 1600-character limit", () => {
  it("keeps a short reply whole", () => {
    expect(splitBody("  Hello.  ")).toEqual(["Hello."]);
  });

  it("cuts after a sentence when one ends in the second half of the window", () => {
    const first = `${"a".repeat(1000)}.`;
    const second = `${"word ".repeat(200).trim()}.`;
    const parts = splitBody(`${first} ${second}`);
    expect(parts).toEqual([first, second]);
  });

  it("cuts between words when no sentence ends late enough, and loses no word", () => {
    const text = Array.from({ length: 900 }, (_, i) => `w${i}`).join(" ");
    const parts = splitBody(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MAX_BODY);
    expect(parts.join(" ")).toBe(text);
  });

  it("cuts an endless word anywhere but inside a surrogate pair", () => {
    const text = `${"x".repeat(MAX_BODY - 1)}${"😀".repeat(10)}`;
    const parts = splitBody(text);
    expect(parts[0]).toHaveLength(MAX_BODY - 1);
    expect(parts.join("")).toBe(text);
  });
});

describe("splitting a WhatsApp reply", () => {
  it("closes a monospace block cut between parts and opens it again in the next", () => {
    const code = Array.from({ length: 120 }, (_, i) => `line ${i}: const value${i} = compute(${i});`).join("\n");
    const text = `Run this:\n\n\`\`\`\n${code}\n\`\`\`\n\nThen restart.`;
    const parts = splitWhatsApp(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(MAX_BODY);
      // Every part has its fences in pairs: each opened block is closed in the same message.
      expect(part.split("```").length % 2).toBe(1);
    }
    expect(parts[0].startsWith("Run this:\n\n```\nline 0:")).toBe(true);
    expect(parts[1].startsWith("```\nline ")).toBe(true);
    expect(parts.at(-1)?.endsWith("```\n\nThen restart.")).toBe(true);
    // No line of code is lost or doubled.
    const lines = parts
      .join("\n")
      .split("\n")
      .filter((l) => l.startsWith("line "));
    expect(lines).toEqual(code.split("\n"));
  });

  it("adds no fence where no block is cut, and loses no word", () => {
    const text = `${"Short words here. ".repeat(150)}\`\`\`x\`\`\` done.`;
    const parts = splitWhatsApp(text);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join(" ")).toBe(text);
    expect(parts.filter((p) => p.startsWith("```\n") || p.endsWith("\n```"))).toEqual([]);
  });
});
