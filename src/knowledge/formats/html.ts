import { Readability } from "@mozilla/readability";
import { htmlToMarkdown } from "./markdown";

// A web page's main content: Readability (Firefox's reader view) drops navigation, headers, footers and
// sidebars; linkedom gives it a DOM without a browser. linkedom's dependencies are ES modules only: it is
// loaded with a real import(), as pdfjs is.

let linkedom: Promise<typeof import("linkedom")> | null = null;

/** The page's article as Markdown, and its <title>. */
export async function parseHtml(html: string): Promise<{ title: string | null; markdown: string }> {
  linkedom ??= import("linkedom");
  const { parseHTML } = await linkedom;
  const { document } = parseHTML(html);
  const pageTitle = document.querySelector("title")?.textContent?.replace(/\s+/g, " ").trim() || null;
  // Readability changes the document it reads: it gets its own copy, and the page stays for the fallback.
  const article = new Readability(parseHTML(html).document as unknown as Document, { charThreshold: 100 }).parse();
  if (article?.content) return { title: pageTitle ?? article.title?.trim() ?? null, markdown: htmlToMarkdown(article.content) };
  // Not an article (a table of prices, a short page): the body without what every page repeats.
  for (const el of Array.from(document.querySelectorAll("nav, header, footer, aside, script, style"))) el.remove();
  return { title: pageTitle, markdown: htmlToMarkdown(document.body?.innerHTML ?? html) };
}
