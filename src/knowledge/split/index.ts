// Splits a document into passages small enough to rank and quote. Each passage carries its heading line, so
// that read alone (in a search result, in a reply) it still says what it is about, and where it sits (heading
// path, page, anchor), so that a citation can be followed.

import { type Block, readSections, type Section } from "./blocks";
import { blockPieces, SENTENCE_END } from "./pieces";

const DEFAULT_MAX_CHARS = 800;
/** Overlap is the tail of the previous passage, at most this share of a passage. */
const OVERLAP_SHARE = 0.15;

/** A passage and where it sits in its document, for citations. */
export interface Chunk {
  /**
   * Its text: its nearest heading line (anchor removed; after the lines of any empty sections directly above
   * it), then its body. At most maxChars characters.
   */
  content: string;
  /** The heading path it sits under ("Returns > Refunds"), or null before the first heading. */
  heading: string | null;
  /**
   * The page its body starts on, 1-based, for a document whose pages are separated by form feeds (PDF): the
   * page of its first text after the heading lines (when it starts by repeating the end of the passage before,
   * the page of that repeated text). Null for a document without form feeds.
   */
  page: number | null;
  /** The anchor of the nearest heading in its path that has one (`## Hours {#opening-hours}`), to link to. */
  anchor: string | null;
}

export interface SplitOptions {
  /** The longest passage, in characters (UTF-16 code units). Default 800. */
  maxChars?: number;
  /** The most characters a passage repeats from the one before it in the same section: 15% of maxChars by default, 25% at most. */
  overlap?: number;
}

/**
 * The document's passages, in order. Sections (a heading and what follows it) are split apart; inside one,
 * paragraphs, lists, tables and code blocks are packed whole into passages up to maxChars. A block too long
 * for a passage is cut at the coarsest boundary that works (see pieces.ts): tables between rows with their
 * header row repeated, lists between items, other text between lines, sentences and then words.
 * When a section takes more than one passage, each after the first starts with the end of the one before (see
 * tail), where it fits. Whitespace is normalised outside code; no other text is dropped, except a heading's
 * `{#anchor}`, which goes to `anchor`.
 */
export function splitIntoChunks(markdown: string, opts: SplitOptions = {}): Chunk[] {
  // Two, not one: a single code point may take two UTF-16 code units, and one is never cut in half.
  const maxChars = Math.max(opts.maxChars ?? DEFAULT_MAX_CHARS, 2);
  const overlap = Math.min(Math.max(opts.overlap ?? Math.floor(maxChars * OVERLAP_SHARE), 0), Math.floor(maxChars / 4));
  const sections = readSections(markdown);
  const chunks: Chunk[] = [];
  let above: Section[] = [];
  for (const [i, section] of sections.entries()) {
    // An empty section directly above a subsection ("# Returns" then "## Refunds") makes no passage of its
    // own: its heading line goes on top of the subsection's passages.
    if (!section.blocks.length && (sections[i + 1]?.level ?? 0) > section.level) above.push(section);
    else {
      chunks.push(...sectionChunks(section, above, maxChars, overlap));
      above = [];
    }
  }
  return chunks;
}

function sectionChunks(section: Section, above: Section[], maxChars: number, overlap: number): Chunk[] {
  const headings = [...above, section].flatMap((s) => (s.line === null ? [] : [s.line])).join("\n");
  if (above.length && headings.length > maxChars / 4) {
    return [...above, section].flatMap((s) => sectionChunks(s, [], maxChars, overlap));
  }
  const where = { heading: section.path, anchor: section.anchor };
  // A heading too long to repeat as context is kept once, as the first text of its section.
  const context = section.line !== null && headings.length <= maxChars / 4 ? headings : null;
  const blocks: Block[] =
    section.line !== null && context === null
      ? [{ kind: "text", lines: [section.line], page: section.page }, ...section.blocks]
      : section.blocks;
  if (!blocks.length) return context === null ? [] : [{ content: context, page: section.page, ...where }];
  const budget = context === null ? maxChars : maxChars - context.length - 1;
  return passages(blocks, budget, overlap).map((body) => ({
    content: context === null ? body.text : `${context}\n${body.text}`,
    page: body.page,
    ...where,
  }));
}

interface Piece {
  text: string;
  page: number | null;
  block: Block;
  /** It continues the block the previous piece was cut from. */
  continues: boolean;
}

/** Blocks' pieces packed greedily into passage bodies of at most `budget` characters, with overlap. */
function passages(blocks: Block[], budget: number, overlap: number): { text: string; page: number | null }[] {
  const pieces: Piece[] = blocks.flatMap((block) =>
    blockPieces(block, budget, overlap + 1).map((text, i) => ({ text, page: block.page, block, continues: i > 0 })),
  );
  const bodies: { text: string; page: number | null }[] = [];
  let body: { text: string; page: number | null } | null = null;
  let last: Piece | null = null;
  for (const piece of pieces) {
    if (body && body.text.length + 2 + piece.text.length <= budget) {
      body.text += `\n\n${piece.text}`;
    } else {
      if (body) bodies.push(body);
      const lead = last ? tail(last, overlap) : "";
      const join = !piece.continues ? "\n\n" : piece.block.kind === "text" ? " " : "\n";
      body =
        lead && lead.length + join.length + piece.text.length <= budget
          ? { text: lead + join + piece.text, page: last!.page }
          : { text: piece.text, page: piece.page };
    }
    last = piece;
  }
  if (body) bodies.push(body);
  return bodies;
}

/**
 * What the next passage repeats of this piece, at most `overlap` characters: of prose, its last sentence or
 * as many of its last words as fit; of a list, its last item if it fits whole. Nothing of a table (the next
 * piece repeats its header instead) or of code.
 */
function tail(piece: Piece, overlap: number): string {
  const lastLine = piece.text.split("\n").at(-1)!.trim();
  if (piece.block.kind === "list") return lastLine.length <= overlap ? lastLine : "";
  if (piece.block.kind !== "text") return "";
  const words = lastLine.split(SENTENCE_END).at(-1)!.trim().split(/\s+/);
  let kept = "";
  for (let i = words.length - 1; i >= 0; i--) {
    const longer = kept ? `${words[i]} ${kept}` : words[i];
    if (longer.length > overlap) break;
    kept = longer;
  }
  return kept;
}
