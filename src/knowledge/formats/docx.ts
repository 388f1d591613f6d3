import mammoth from "mammoth";
import { unprocessable } from "./errors";
import { htmlToMarkdown } from "./markdown";
import { checkZipSize } from "./zip";

// Word files through mammoth (its HTML keeps headings, lists and tables), then the same Markdown as web pages.

/** An OLE compound file: what Word writes for a password-protected document, or an old .doc file. */
const OLE = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

/** A DOCX is a zip archive: anything else is refused before it is stored. */
export function checkDocxHeader(bytes: Buffer): void {
  if (bytes.subarray(0, OLE.length).equals(OLE))
    throw unprocessable("The Word document is password-protected, or an old .doc file: save it as DOCX without a password");
  if (bytes.subarray(0, 4).toString("latin1") !== "PK\x03\x04") throw unprocessable("The file is not a DOCX document (not a zip archive)");
}

/** The checks an upload gets: a zip archive that does not inflate to more than a DOCX may. */
export async function checkDocx(bytes: Buffer): Promise<void> {
  checkDocxHeader(bytes);
  await checkZipSize(bytes);
}

export async function parseDocx(bytes: Buffer): Promise<{ title: string | null; markdown: string }> {
  await checkDocx(bytes);
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: bytes })).value;
  } catch (err) {
    throw unprocessable(`The DOCX document cannot be read (${(err as Error).message})`);
  }
  return { title: null, markdown: htmlToMarkdown(html) };
}
