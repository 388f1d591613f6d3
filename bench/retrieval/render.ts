import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun, WidthType } from "docx";
import { PDFDocument, type PDFFont, type PDFPage, rgb, StandardFonts } from "pdf-lib";

// Renders the corpus's own Markdown as the PDF and Word files a business would upload, so that the labelled
// set has real PDF and DOCX sources without binary files in the repository. The Markdown is ours and plain
// (headings, paragraphs, lists, pipe tables, no inline markup): reading it needs only its blocks.

export type Block =
  | { kind: "heading"; level: number; text: string }
  | { kind: "paragraph"; text: string }
  | { kind: "item"; text: string }
  | { kind: "table"; rows: string[][] };

/** The blocks of the corpus's Markdown, in order. */
export function markdownBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  /** The block a line without a marker of its own continues, if any. */
  let open: Block | undefined;
  const add = (block: Block) => {
    blocks.push(block);
    open = block;
  };
  for (const line of markdown.split("\n")) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^(?:-|\d+\.)\s+(.*)$/.exec(line);
    if (!line.trim()) open = undefined;
    else if (heading) add({ kind: "heading", level: heading[1].length, text: heading[2] });
    else if (line.startsWith("|")) {
      const cells = line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim());
      // The row of dashes under a table's header.
      if (cells.every((c) => /^-+$/.test(c))) continue;
      if (open?.kind === "table") open.rows.push(cells);
      else add({ kind: "table", rows: [cells] });
    } else if (item) add({ kind: "item", text: item[1] });
    else if (open?.kind === "paragraph" || open?.kind === "item") open.text += ` ${line.trim()}`;
    else add({ kind: "paragraph", text: line.trim() });
  }
  return blocks;
}

const A4 = { width: 595, height: 842, margin: 56 };
const SIZES = { 1: 18, 2: 14, body: 11 } as const;

/** A multi-page A4 PDF in the standard Helvetica fonts (WinAnsi: Western European accents, £ and €). */
export async function renderPdf(title: string, markdown: string): Promise<{ bytes: Uint8Array; pages: number }> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(title);
  pdf.setAuthor("ai-hub retrieval bench");
  const fonts = { regular: await pdf.embedFont(StandardFonts.Helvetica), bold: await pdf.embedFont(StandardFonts.HelveticaBold) };
  const width = A4.width - 2 * A4.margin;
  let page: PDFPage = pdf.addPage([A4.width, A4.height]);
  let y = A4.height - A4.margin;
  /** Moves down by `height`, on a new page when this one has no room left. */
  const room = (height: number) => {
    if (y - height >= A4.margin) return;
    page = pdf.addPage([A4.width, A4.height]);
    y = A4.height - A4.margin;
  };
  const lines = (text: string, x: number, maxWidth: number, font: PDFFont, size: number) => {
    for (const line of wrap(text, font, size, maxWidth)) {
      room(size * 1.4);
      page.drawText(line, { x, y: y - size, size, font });
      y -= size * 1.4;
    }
  };
  for (const block of markdownBlocks(markdown)) {
    if (block.kind === "heading") {
      const size = block.level === 1 ? SIZES[1] : SIZES[2];
      room(size * 3);
      y -= size * 0.6;
      lines(block.text, A4.margin, width, fonts.bold, size);
    } else if (block.kind === "paragraph") lines(block.text, A4.margin, width, fonts.regular, SIZES.body);
    else if (block.kind === "item") {
      room(SIZES.body * 1.4);
      page.drawText("•", { x: A4.margin + 4, y: y - SIZES.body, size: SIZES.body, font: fonts.regular });
      lines(block.text, A4.margin + 16, width - 16, fonts.regular, SIZES.body);
    } else drawTable(block.rows);
    y -= SIZES.body * 0.6;
  }

  function drawTable(rows: string[][]) {
    const columns = rows[0].length;
    const cellWidth = width / columns;
    const size = SIZES.body - 1;
    rows.forEach((row, r) => {
      const font = r === 0 ? fonts.bold : fonts.regular;
      const cells = row.map((cell) => wrap(cell, font, size, cellWidth - 8));
      const height = Math.max(...cells.map((c) => c.length)) * size * 1.3 + 4;
      room(height);
      for (const [c, cellLines] of cells.entries()) {
        for (const [i, line] of cellLines.entries()) {
          page.drawText(line, { x: A4.margin + c * cellWidth, y: y - size - i * size * 1.3, size, font });
        }
      }
      y -= height;
      if (r === 0) page.drawLine({ start: { x: A4.margin, y: y + 2 }, end: { x: A4.margin + width, y: y + 2 }, color: rgb(0.5, 0.5, 0.5) });
    });
  }

  return { bytes: await pdf.save(), pages: pdf.getPageCount() };
}

/** Words packed into lines no wider than maxWidth. */
function wrap(text: string, font: PDFFont, size: number, maxWidth: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && font.widthOfTextAtSize(next, size) > maxWidth) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  return line ? [...lines, line] : [""];
}

/** A Word document with real headings, bulleted lists and a table for each pipe table. */
export async function renderDocx(title: string, markdown: string): Promise<Uint8Array> {
  const children = markdownBlocks(markdown).map((block) => {
    if (block.kind === "heading")
      return new Paragraph({ text: block.text, heading: block.level === 1 ? HeadingLevel.HEADING_1 : HeadingLevel.HEADING_2 });
    if (block.kind === "paragraph") return new Paragraph({ text: block.text });
    if (block.kind === "item") return new Paragraph({ text: block.text, bullet: { level: 0 } });
    return new Table({
      width: { size: 100, type: WidthType.PERCENTAGE },
      rows: block.rows.map(
        (row, r) =>
          new TableRow({
            tableHeader: r === 0,
            children: row.map(
              (cell) => new TableCell({ children: [new Paragraph({ children: [new TextRun({ text: cell, bold: r === 0 })] })] }),
            ),
          }),
      ),
    });
  });
  const doc = new Document({ title, creator: "ai-hub retrieval bench", sections: [{ children }] });
  return new Uint8Array(await Packer.toBuffer(doc));
}
