import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { renderDocx, renderPdf } from "./render";

// The labelled set's documents as a business would upload them. Sources are text in corpus/, named
// `<id>.<as>.md` or `<id>.html`/`<id>.md`: `x.pdf.md` and `x.docx.md` are Markdown that is rendered to a PDF
// or Word file here, at bench time; `.html` is a web page as saved from a browser; `.md` is uploaded as it is.

export const CORPUS_DIR = path.join(__dirname, "corpus");

export type Format = "markdown" | "html" | "pdf" | "docx";

export interface CorpusFile {
  /** The file's name without its extensions: what questions.json calls `doc`. */
  id: string;
  /** As uploaded: `en-shipping.pdf`. */
  fileName: string;
  format: Format;
  contentType: string;
  bytes: Uint8Array;
  /** The text it was written as: the Markdown a PDF or DOCX was rendered from, the page's HTML. */
  source: string;
  /** A PDF's page count. */
  pages?: number;
}

const CONTENT_TYPES: Record<Format, string> = {
  markdown: "text/markdown",
  html: "text/html",
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
};

/** The id, format and source text of every corpus file, without rendering anything. */
export function corpusSources(): { id: string; format: Format; source: string }[] {
  return readdirSync(CORPUS_DIR)
    .filter((name) => /\.(md|html)$/.test(name))
    .sort()
    .map((name) => {
      const [id, ...extensions] = name.split(".");
      const format: Format =
        extensions[0] === "pdf" ? "pdf" : extensions[0] === "docx" ? "docx" : extensions[0] === "html" ? "html" : "markdown";
      return { id, format, source: readFileSync(path.join(CORPUS_DIR, name), "utf8") };
    });
}

/** Every corpus file as uploaded, PDFs and Word files rendered now. */
export async function loadCorpus(): Promise<CorpusFile[]> {
  return Promise.all(
    corpusSources().map(async ({ id, format, source }) => {
      const extension = format === "markdown" ? "md" : format;
      const file = { id, fileName: `${id}.${extension}`, format, contentType: CONTENT_TYPES[format], source };
      if (format === "pdf") {
        const { bytes, pages } = await renderPdf(markdownTitle(source, id), source);
        return { ...file, bytes, pages };
      }
      if (format === "docx") return { ...file, bytes: await renderDocx(markdownTitle(source, id), source) };
      return { ...file, bytes: new TextEncoder().encode(source) };
    }),
  );
}

/** The first `# heading`, else the fallback. */
export function markdownTitle(markdown: string, fallback: string): string {
  return /^#\s+(.+)$/m.exec(markdown)?.[1].trim() ?? fallback;
}
