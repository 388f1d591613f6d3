import { unprocessable } from "./errors";

// PDF text through pdfjs-dist (Mozilla's PDF reader). It is an ES module: imported with a real import()
// (jest keeps dynamic imports as they are, see jest.config.js). Its worker runs in this thread: the module
// is handed to pdfjs as `globalThis.pdfjsWorker`, which it uses instead of starting a worker of its own.

type Pdfjs = typeof import("pdfjs-dist/legacy/build/pdf.mjs");
let loading: Promise<Pdfjs> | null = null;

export function pdfjs(): Promise<Pdfjs> {
  loading ??= (async () => {
    // @ts-expect-error: the worker module ships without types; only its presence matters here.
    const worker = await import("pdfjs-dist/legacy/build/pdf.worker.mjs");
    (globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = worker;
    return import("pdfjs-dist/legacy/build/pdf.mjs");
  })();
  return loading;
}

/**
 * The most a PDF may hold: its pages, and its text in characters. Past either, it is refused (422) rather than
 * indexed in part, so that the reason shows in the document's `error` and no one searches half a manual
 * believing it whole. 2,000 pages is a long manual; 20 million characters (40 MB as a JavaScript string) is
 * some 10,000 dense pages, tens of thousands of passages to embed, and well inside the parse's memory.
 */
export const MAX_PAGES = 2_000;
export const MAX_CHARS = 20_000_000;

async function open(bytes: Buffer) {
  const { getDocument } = await pdfjs();
  // A copy: pdfjs takes ownership of (detaches) the buffer it is given.
  const task = getDocument({ data: new Uint8Array(bytes), isEvalSupported: false, disableFontFace: true, verbosity: 0 });
  try {
    return await task.promise;
  } catch (err) {
    await task.destroy().catch(() => {});
    const name = (err as Error).name;
    if (name === "PasswordException") throw unprocessable("The PDF is password-protected: upload it without a password");
    throw unprocessable(`The PDF cannot be read (${(err as Error).message || name})`);
  }
}

/** Opens the PDF and closes it: the quick check an upload gets before it is accepted. */
export async function checkPdf(bytes: Buffer): Promise<void> {
  const doc = await open(bytes);
  try {
    checkPages(doc.numPages);
  } finally {
    await doc.destroy();
  }
}

function checkPages(pages: number) {
  if (pages > MAX_PAGES) throw unprocessable(`The PDF has ${pages} pages; the hub reads at most ${MAX_PAGES}: split it into smaller files`);
}

/** The PDF's text, pages separated by a form feed (page N follows N-1 of them), and its title, if it has one. */
export async function parsePdf(bytes: Buffer): Promise<{ title: string | null; markdown: string }> {
  const doc = await open(bytes);
  try {
    checkPages(doc.numPages);
    const info = (await doc.getMetadata().catch(() => null))?.info as { Title?: unknown } | undefined;
    const pages: string[] = [];
    let chars = 0;
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      pages.push(pageText((await page.getTextContent()).items as Item[]));
      page.cleanup();
      chars += pages[pages.length - 1].length;
      if (chars > MAX_CHARS)
        throw unprocessable(
          `The PDF's text is longer than the ${MAX_CHARS} characters the hub reads of a file: split it into smaller files`,
        );
    }
    const title = typeof info?.Title === "string" && info.Title.trim() ? info.Title.trim() : null;
    return { title, markdown: pages.join("\f") };
  } finally {
    await doc.destroy();
  }
}

interface Item {
  str?: string;
  hasEOL?: boolean;
  height?: number;
  transform?: number[];
}

/** A page's text items as lines; a vertical gap wider than a line's height starts a new paragraph. */
function pageText(items: Item[]): string {
  let text = "";
  let lastY: number | null = null;
  for (const item of items) {
    if (typeof item.str !== "string") continue;
    const y = item.transform?.[5] ?? null;
    const height = item.height || 10;
    if (lastY !== null && y !== null && Math.abs(lastY - y) > height * 1.8 && !text.endsWith("\n\n")) text = `${text.trimEnd()}\n\n`;
    text += item.str + (item.hasEOL ? "\n" : "");
    if (y !== null && item.str) lastY = y;
  }
  return text
    .replace(/[ \t]+\n/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
