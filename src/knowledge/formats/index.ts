import path from "node:path";
import { parseCsv } from "./csv";
import { PageUnavailable, SUPPORTED_TYPES, unprocessable, unsupportedType } from "./errors";
import { DEFAULT_LIMITS, inWorker, type ParseLimits } from "./sandbox";
import { mediaType } from "./text";

// Files and pages as the Markdown the chunker reads (src/knowledge/split.ts): PDF pages separated by form
// feeds, HTML headings with their ids as `## Heading {#id}`, tables and CSV as pipe tables.

export { type FetchedPage, type FetchOptions, fetchPage } from "./fetch";
export { DEFAULT_LIMITS, type ParseLimits } from "./sandbox";
export { asUtf8, mediaType } from "./text";
export { PageUnavailable, SUPPORTED_TYPES, unprocessable, unsupportedType };

export type Format = "text" | "markdown" | "csv" | "html" | "pdf" | "docx";
export const FORMATS: readonly Format[] = ["text", "markdown", "csv", "html", "pdf", "docx"];

export interface ParsedDocument {
  /** The document's own title (the PDF's, the page's <title>), else the file name, else null. */
  title: string | null;
  markdown: string;
  format: Format;
}

const BY_TYPE: Record<string, Format> = {
  "application/pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/plain": "text",
  "text/csv": "csv",
  "application/csv": "csv",
};
const BY_EXTENSION: Record<string, Format> = {
  ".pdf": "pdf",
  ".docx": "docx",
  ".html": "html",
  ".htm": "html",
  ".md": "markdown",
  ".markdown": "markdown",
  ".txt": "text",
  ".csv": "csv",
};
/** Types that say nothing about the content: the file name decides then. */
const GENERIC = new Set(["", "application/octet-stream", "binary/octet-stream", "application/x-www-form-urlencoded"]);

/** The format a Content-Type names, or (for a generic type) the file name's extension; null if neither is supported. */
export function formatOf(contentType: string | undefined, fileName?: string): Format | null {
  const type = mediaType(contentType);
  if (!GENERIC.has(type)) return BY_TYPE[type] ?? null;
  return fileName ? (BY_EXTENSION[path.extname(fileName).toLowerCase()] ?? null) : null;
}

/**
 * The quick checks an upload gets before it is stored: a corrupt, password-protected or oversized (too many
 * pages, a zip bomb) file is refused (422). PDF and DOCX are opened in a worker thread, as they are parsed.
 */
export async function checkDocument(bytes: Buffer, format: Format, limits: ParseLimits = DEFAULT_LIMITS): Promise<void> {
  if (!bytes.length) throw unprocessable("The document is empty");
  if (format === "pdf" || format === "docx") await inWorker({ op: "check", format, bytes }, limits);
}

/** Text bytes as a string: UTF-8, a byte order mark dropped. */
const utf8 = (bytes: Buffer) => new TextDecoder("utf-8").decode(bytes);

/**
 * The document in `format` as Markdown; `url`, where it was fetched from, makes a page's links absolute.
 * Throws 422 (HubError) for one that cannot be read, has no text, or outgrows the limits while it is read
 * (PDF, DOCX and HTML are read in a worker thread that the limits bound, see sandbox.ts).
 */
export async function parseAs(
  format: Format,
  bytes: Buffer,
  fileName?: string,
  url?: string,
  limits: ParseLimits = DEFAULT_LIMITS,
): Promise<ParsedDocument> {
  const parsed =
    format === "pdf" || format === "docx" || format === "html"
      ? ((await inWorker({ op: "parse", format, bytes, url }, limits)) ?? { title: null, markdown: "" })
      : format === "csv"
        ? parseCsv(utf8(bytes))
        : { title: null, markdown: utf8(bytes) };
  const markdown = parsed.markdown.replace(/\r\n?/g, "\n").trim();
  if (!markdown.replace(/\f/g, "").trim())
    throw unprocessable(`The ${format} document has no text to index (a scanned PDF needs OCR first)`);
  return { title: parsed.title ?? fileName ?? null, markdown, format };
}

/** The file (its bytes, its Content-Type, its name, the URL it came from) as Markdown; 415 for a type not supported. */
export async function parseDocument(file: {
  bytes: Buffer;
  contentType: string;
  fileName?: string;
  url?: string;
}): Promise<ParsedDocument> {
  const format = formatOf(file.contentType, file.fileName);
  if (!format) throw unsupportedType(mediaType(file.contentType));
  return parseAs(format, file.bytes, file.fileName, file.url);
}
