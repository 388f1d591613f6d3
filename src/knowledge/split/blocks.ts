// Reads the Markdown the parsers produce into sections (a heading and what follows it up to the next heading)
// of blocks: paragraphs, lists, pipe tables and fenced code. Only block starts are recognised, line by line,
// so every line of the input lands in exactly one block; inline Markdown is left as it is.

/** What a block is decides how it may be cut when it is too long for one passage. */
export type BlockKind = "text" | "list" | "table" | "code";

export interface Block {
  kind: BlockKind;
  lines: string[];
  /** The PDF page it is on (blocks never span a page break), or null for a document without pages. */
  page: number | null;
}

export interface Section {
  /** The heading line as it reads in a passage ("## Opening hours"), without its anchor; null before the first. */
  line: string | null;
  /** The heading's level (1 to 6), 0 before the first heading. */
  level: number;
  /** The heading path, outermost first ("Returns > Refunds"). */
  path: string | null;
  /** The anchor of the nearest heading in the path that has one. */
  anchor: string | null;
  page: number | null;
  blocks: Block[];
}

const ATX_HEADING = /^(#{1,6})\s+(\S.*)$/;
const SETEXT_UNDERLINE = /^(=+|-+)$/;
const FENCE = /^(`{3,}|~{3,})/;
const LIST_ITEM = /^\s*([-*+]|\d{1,9}[.)])(\s|$)/;
const TABLE_DELIMITER = /^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$/;
/** How much of a heading its path keeps, and how long a path may get: it is stored with every passage under it. */
const TITLE_MAX = 200;
const PATH_MAX = 500;

/** Sections in document order. Pages are separated by form feeds; with none, every page is null. */
export function readSections(markdown: string): Section[] {
  const pages = markdown.split("\f");
  const reader = new SectionReader();
  for (const [i, page] of pages.entries()) reader.readPage(page.split(/\r\n?|\n/), pages.length > 1 ? i + 1 : null);
  return reader.finish();
}

class SectionReader {
  private readonly sections: Section[] = [];
  private section: Section = { line: null, level: 0, path: null, anchor: null, page: null, blocks: [] };
  private trail: { level: number; title: string; anchor: string | null }[] = [];
  private block: Block | null = null;
  /** The opening fence while inside a fenced code block; it stays open across a page break. */
  private fence: string | null = null;
  /** A blank line was seen inside a list: only another item or an indented line continues it. */
  private listGap = false;

  readPage(lines: string[], page: number | null): void {
    for (const [i, raw] of lines.entries()) this.readLine(raw, normalise(lines[i + 1] ?? ""), page);
    this.endBlock();
  }

  finish(): Section[] {
    this.endBlock();
    this.endSection();
    return this.sections;
  }

  private readLine(raw: string, next: string, page: number | null): void {
    if (this.fence !== null) {
      this.readCode(raw, page);
      return;
    }
    const line = normalise(raw);
    const block = this.block;
    if (!line) {
      if (block?.kind === "list") this.listGap = true;
      else this.endBlock();
      return;
    }
    const fence = FENCE.exec(line);
    const atx = ATX_HEADING.exec(line);
    if (fence) {
      this.start("code", page).lines.push(raw.trimEnd());
      this.fence = fence[1];
    } else if (atx) {
      this.startSection(atx[1].length, atx[2].replace(/\s+#+$/, ""), page);
    } else if (SETEXT_UNDERLINE.test(line) && block?.kind === "text") {
      this.block = null;
      this.startSection(line.startsWith("=") ? 1 : 2, block.lines.join(" "), block.page);
    } else if (block?.kind === "table" && line.includes("|")) {
      block.lines.push(line);
    } else if (line.includes("|") && next.includes("|") && TABLE_DELIMITER.test(next)) {
      this.start("table", page).lines.push(line);
    } else if (LIST_ITEM.test(raw)) {
      (block?.kind === "list" ? block : this.start("list", page)).lines.push(indentOf(raw) + line);
      this.listGap = false;
    } else if (block?.kind === "list" && (!this.listGap || indentOf(raw))) {
      block.lines.push(indentOf(raw) + line);
      this.listGap = false;
    } else {
      (block?.kind === "text" ? block : this.start("text", page)).lines.push(line);
    }
  }

  /** Code is kept as written, indentation and blank lines included, up to the fence that closes it. */
  private readCode(raw: string, page: number | null): void {
    const block = this.block ?? this.start("code", page);
    block.lines.push(raw.trimEnd());
    const closing = raw.trim();
    if (closing.startsWith(this.fence!) && /^(`+|~+)$/.test(closing)) {
      this.fence = null;
      this.endBlock();
    }
  }

  private start(kind: BlockKind, page: number | null): Block {
    this.endBlock();
    this.block = { kind, lines: [], page };
    return this.block;
  }

  private endBlock(): void {
    if (this.block?.lines.some((line) => line.trim())) this.section.blocks.push(this.block);
    this.block = null;
    this.listGap = false;
  }

  private startSection(level: number, text: string, page: number | null): void {
    this.endBlock();
    this.endSection();
    const { title, anchor } = headingAttributes(text);
    this.trail = [...this.trail.filter((h) => h.level < level), { level, title: clip(title, TITLE_MAX), anchor }];
    const path = this.trail.map((h) => h.title).join(" > ");
    this.section = {
      line: `${"#".repeat(level)} ${title}`,
      level,
      path: path.length > PATH_MAX ? `…${path.slice(-(PATH_MAX - 1))}` : path,
      anchor: this.trail.findLast((h) => h.anchor !== null)?.anchor ?? null,
      page,
      blocks: [],
    };
  }

  private endSection(): void {
    if (this.section.line !== null || this.section.blocks.length) this.sections.push(this.section);
  }
}

/**
 * A heading's title and the id of a Pandoc-style attribute block ending it (`{#opening-hours}`,
 * `{#id .class key=value}`). Found with lastIndexOf, not a regular expression: a long heading with a `{#` and
 * no closing brace made one backtrack for minutes.
 */
function headingAttributes(text: string): { title: string; anchor: string | null } {
  const at = text.lastIndexOf("{#");
  const inside = at > 0 && text.endsWith("}") ? text.slice(at + 2, -1) : "";
  const id = inside.includes("}") ? "" : inside.split(" ", 1)[0];
  const title = text.slice(0, at).trimEnd();
  return id && title ? { title, anchor: id } : { title: text, anchor: null };
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function normalise(line: string): string {
  return line.replace(/\s+/g, " ").trim();
}

/** A list line keeps its indentation (tabs as two spaces), which is what nests it. */
function indentOf(raw: string): string {
  return (/^[ \t]*/.exec(raw)?.[0] ?? "").replace(/\t/g, "  ");
}
