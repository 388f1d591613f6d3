import type { KnowledgeIndex } from "../../src/knowledge";
import { type CorpusFile, markdownTitle } from "./corpus";

// How the retrieval bench puts a corpus file into a folder: the one place that changes when the parsers land.

/** Whether loadDocument parses the files' bytes (PDF, DOCX, HTML): until it does, PDF pages/s measures nothing. */
export const FILES_PARSED = false;

/**
 * One corpus file into the folder, through the hub's own code path; returns the document's id.
 * Today KnowledgeIndex takes Markdown only, so an HTML page goes through a stand-in conversion and a PDF or
 * Word file is indexed from the Markdown it was rendered from. Once src/knowledge/formats lands, the body is
 * (and FILES_PARSED is true):
 *   const { bytes, contentType, fileName } = file;
 *   const { title, markdown } = await parseDocument({ bytes: Buffer.from(bytes), contentType, fileName });
 *   return (await index.addDocument(folderId, title ?? fileName, markdown)).id;
 */
export async function loadDocument(index: KnowledgeIndex, folderId: string, file: CorpusFile): Promise<string> {
  const markdown = file.format === "html" ? htmlUntilParsersLand(file.source) : file.source;
  const title =
    file.format === "html"
      ? (/<title>([^<]*)<\/title>/i.exec(file.source)?.[1] ?? file.fileName)
      : markdownTitle(file.source, file.fileName);
  return (await index.addDocument(folderId, title, markdown)).id;
}

/** Not a parser: the page's main text with its headings, list items and table cells, until parseDocument lands. */
function htmlUntilParsersLand(html: string): string {
  return html
    .replace(/<(head|nav|footer|script|style)\b[\s\S]*?<\/\1>/gi, "")
    .replace(/<h([1-6])[^>]*>/gi, (_, level) => `\n\n${"#".repeat(Number(level))} `)
    .replace(/<li[^>]*>/gi, "\n- ")
    .replace(/<tr[^>]*>/gi, "\n|")
    .replace(/<\/t[dh]>/gi, " |")
    .replace(/<\/(h[1-6]|p|ul|ol|table)>/gi, "\n\n")
    .replace(/<[^>]+>/g, "")
    .replace(/&amp;/g, "&");
}
