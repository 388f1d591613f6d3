import TurndownService from "turndown";

// HTML (a web page's main content, a Word file through mammoth) as the Markdown the chunker reads: headings
// that carry an id keep it as `## Heading {#id}` so a passage can link to its section, and tables become
// pipe tables (header row first) so the chunker can keep them whole or repeat the header.

/** One line of a table cell: pipes escaped, line breaks flattened (a pipe table row is one line). */
const cell = (text: string) => text.replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();

function rowCells(row: Element): string[] {
  return Array.from(row.children)
    .filter((c) => c.nodeName === "TH" || c.nodeName === "TD")
    .map((c) => turndown.turndown(c.innerHTML));
}

/** The table's own rows (in thead, tbody, tfoot or directly under it), not those of tables nested in cells. */
function tableRows(table: Element): Element[] {
  return Array.from(table.children).flatMap((child) =>
    child.nodeName === "TR"
      ? [child]
      : /^T(HEAD|BODY|FOOT)$/.test(child.nodeName)
        ? Array.from(child.children).filter((r) => r.nodeName === "TR")
        : [],
  );
}

const turndown = new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced", bulletListMarker: "-", emDelimiter: "_" });
turndown.remove(["script", "style", "noscript", "template", "iframe", "form", "button"]);
turndown.addRule("headingWithId", {
  filter: (node) => /^H[1-6]$/.test(node.nodeName),
  replacement: (content, node) => {
    const text = content.replace(/\s+/g, " ").trim();
    if (!text) return "";
    const id = (node as HTMLElement).getAttribute("id")?.trim();
    const anchor = id && /^[\w:.-]+$/.test(id) ? ` {#${id}}` : "";
    return `\n\n${"#".repeat(Number(node.nodeName[1]))} ${text}${anchor}\n\n`;
  },
});
turndown.addRule("table", {
  filter: "table",
  replacement: (_content, node) => `\n\n${rowsToMarkdown(tableRows(node as Element).map(rowCells))}\n\n`,
});

/** The HTML fragment or document as Markdown. */
export function htmlToMarkdown(html: string): string {
  return turndown
    .turndown(html)
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Rows (header first) as a Markdown pipe table. */
export function rowsToMarkdown(rows: string[][]): string {
  const width = Math.max(0, ...rows.map((r) => r.length));
  if (!width) return "";
  const line = (cells: string[]) => `| ${[...cells.map(cell), ...Array(width - cells.length).fill("")].join(" | ")} |`;
  const [header, ...body] = rows;
  return [line(header), line(Array(width).fill("---")), ...body.map(line)].join("\n");
}
