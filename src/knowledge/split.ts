// Splits a document into passages small enough to rank and quote, each carrying the heading it sits under
// so that a passage read alone (in a search result, in a reply) still says what it is about.

const DEFAULT_MAX_CHARS = 800;
const HEADING = /^#{1,6}\s+\S/;
const FENCE = /^(```|~~~)/;

/** From coarse to fine: paragraphs, lines, sentences, words. Finer levels are used only for runs too long. */
const LEVELS: { split: RegExp; join: string }[] = [
  { split: /\n{2,}/, join: "\n\n" },
  { split: /\n/, join: "\n" },
  { split: /(?<=[.!?])\s+/, join: " " },
  { split: /\s+/, join: " " },
];

/** A passage and where it sits in its document, for citations. */
export interface Chunk {
  content: string;
  /** The heading path it sits under ("Returns > Refunds"), if any. */
  heading: string | null;
  /** The PDF page it starts on (1-based). */
  page: number | null;
  /** The HTML anchor (element id) of its section, to link to. */
  anchor: string | null;
}

/** The document's passages with where each sits. */
export function splitIntoChunks(text: string, opts: { maxChars?: number } = {}): Chunk[] {
  return splitIntoPassages(text, opts).map((content) => ({ content, heading: null, page: null, anchor: null }));
}

interface Section {
  heading: string | null;
  paragraphs: string[];
}

/**
 * Passages of at most maxChars (default 800): split on Markdown headings and blank lines first, then lines,
 * sentences and words; small paragraphs under one heading are merged up to the limit. Each passage starts
 * with its nearest heading. Whitespace is normalised; no text is dropped.
 */
export function splitIntoPassages(text: string, opts: { maxChars?: number } = {}): string[] {
  const maxChars = Math.max(opts.maxChars ?? DEFAULT_MAX_CHARS, 1);
  const passages: string[] = [];
  for (const section of sections(text)) {
    // A heading too long to repeat as context is kept once, as text of its own section.
    const context = section.heading !== null && section.heading.length <= maxChars / 4 ? section.heading : null;
    const paragraphs = context === null && section.heading !== null ? [section.heading, ...section.paragraphs] : section.paragraphs;
    if (!paragraphs.length) {
      if (context !== null) passages.push(context);
      continue;
    }
    const budget = context === null ? maxChars : maxChars - context.length - 1;
    for (const body of pieces(paragraphs.join("\n\n"), budget, 0)) passages.push(context === null ? body : `${context}\n${body}`);
  }
  return passages;
}

/** Normalised lines grouped under their headings; blank lines end paragraphs. */
function sections(text: string): Section[] {
  const found: Section[] = [];
  let current: Section = { heading: null, paragraphs: [] };
  let paragraph: string[] = [];
  let inFence = false;
  const endParagraph = () => {
    if (paragraph.length) current.paragraphs.push(paragraph.join("\n"));
    paragraph = [];
  };
  for (const raw of text.split(/\r\n?|\n/)) {
    const line = raw.replace(/\s+/g, " ").trim();
    if (FENCE.test(line)) inFence = !inFence;
    if (!inFence && HEADING.test(line)) {
      endParagraph();
      if (current.heading !== null || current.paragraphs.length) found.push(current);
      current = { heading: line, paragraphs: [] };
    } else if (line) {
      paragraph.push(line);
    } else {
      endParagraph();
    }
  }
  endParagraph();
  if (current.heading !== null || current.paragraphs.length) found.push(current);
  return found;
}

/** Text cut at the coarsest level that works, then greedily re-packed up to the budget. */
function pieces(text: string, budget: number, level: number): string[] {
  if (text.length <= budget) return [text];
  const at = LEVELS[level];
  if (!at) return hardSplit(text, budget);
  const parts = text.split(at.split).filter(Boolean);
  if (parts.length < 2) return pieces(text, budget, level + 1);
  return pack(
    parts.flatMap((part) => pieces(part, budget, level + 1)),
    budget,
    at.join,
  );
}

function pack(parts: string[], budget: number, join: string): string[] {
  const packed: string[] = [];
  let current = "";
  for (const part of parts) {
    if (current && current.length + join.length + part.length <= budget) current += join + part;
    else {
      if (current) packed.push(current);
      current = part;
    }
  }
  if (current) packed.push(current);
  return packed;
}

/** The last resort for a single "word" longer than a passage (a URL, a base64 blob). */
function hardSplit(text: string, budget: number): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += budget) chunks.push(text.slice(i, i + budget));
  return chunks;
}
