// Cuts one block into pieces that each fit a passage, at the coarsest boundary that works for its kind:
// a table between rows (repeating its header), a list between items, code between lines, prose between
// lines, then sentences, then words. Only a single word longer than a passage is cut inside.

import type { Block } from "./blocks";

const LINES = 0;
const WORDS = 2;
/** Where a sentence ends, the CJK full stops (not followed by a space) included. */
export const SENTENCE_END = /(?<=[.!?])\s+|(?<=[。！？])/;
/** From coarse to fine. */
const LEVELS: { split: RegExp; join: string }[] = [
  { split: /\n/, join: "\n" },
  { split: SENTENCE_END, join: " " },
  { split: /\s+/, join: " " },
];
const LIST_ITEM = /^\s*([-*+]|\d{1,9}[.)])(\s|$)/;

/**
 * The block's text in pieces of at most `budget` characters (one piece when it fits). Pieces of prose and
 * lists leave `reserve` characters free, for the overlap a passage starting with them repeats.
 */
export function blockPieces(block: Block, budget: number, reserve: number): string[] {
  const text = block.lines.join("\n");
  if (text.length <= budget) return [text];
  if (block.kind === "table") return tablePieces(block.lines, budget);
  if (block.kind === "code") return cut(text, budget, LINES);
  const room = Math.max(budget - reserve, Math.ceil(budget / 2));
  if (block.kind === "list")
    return pack(
      listItems(block.lines).flatMap((item) => cut(item, room, LINES)),
      room,
      "\n",
    );
  return cut(text, room, LINES);
}

/**
 * Rows packed under a copy of the header row and delimiter row, so each piece reads as a table of its own. A
 * row is cut (at words) only when it cannot fit beside the header; a header taking more than half a passage
 * is not repeated, and the table is then cut like prose.
 */
function tablePieces(lines: string[], budget: number): string[] {
  const header = lines.slice(0, 2).join("\n");
  const room = budget - header.length - 1;
  if (room < budget / 2) return cut(lines.join("\n"), budget, LINES);
  const rows = lines.slice(2).flatMap((row) => cut(row, room, WORDS));
  return pack(rows, room, "\n").map((rows) => `${header}\n${rows}`);
}

/** Each item with the lines that continue it (nested items are items of their own). */
function listItems(lines: string[]): string[] {
  const items: string[][] = [];
  for (const line of lines) {
    if (LIST_ITEM.test(line) || !items.length) items.push([line]);
    else items.at(-1)!.push(line);
  }
  return items.map((item) => item.join("\n"));
}

/** Text cut at the coarsest level that works, then greedily re-packed up to the budget. */
export function cut(text: string, budget: number, level: number): string[] {
  if (text.length <= budget) return [text];
  const at = LEVELS[level];
  if (!at) return hardSplit(text, budget);
  const parts = text.split(at.split).filter((part) => part.trim());
  if (parts.length < 2) return cut(text, budget, level + 1);
  return pack(
    parts.flatMap((part) => cut(part, budget, level + 1)),
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

/** The last resort for a single "word" longer than a passage (a URL, a base64 blob); never halves a code point. */
function hardSplit(text: string, budget: number): string[] {
  const chunks: string[] = [];
  let current = "";
  for (const char of text.trim()) {
    if (current.length + char.length > budget && current) {
      chunks.push(current);
      current = "";
    }
    current += char;
  }
  if (current) chunks.push(current);
  return chunks;
}
