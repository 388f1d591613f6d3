import { MAX_BODY, splitBody } from "../../../adapters/twilio/split";

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
