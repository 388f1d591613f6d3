import mammoth from "mammoth";
import { unprocessable } from "./errors";
import { htmlToMarkdown } from "./markdown";

// Word files through mammoth (its HTML keeps headings, lists and tables), then the same Markdown as web pages.

/** A DOCX is a zip archive: anything else is refused before it is stored. */
export function checkDocx(bytes: Buffer): void {
  if (bytes.subarray(0, 4).toString("latin1") !== "PK\x03\x04") throw unprocessable("The file is not a DOCX document (not a zip archive)");
}

export async function parseDocx(bytes: Buffer): Promise<{ title: string | null; markdown: string }> {
  checkDocx(bytes);
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: bytes })).value;
  } catch (err) {
    throw unprocessable(`The DOCX document cannot be read (${(err as Error).message})`);
  }
  return { title: null, markdown: htmlToMarkdown(html) };
}
