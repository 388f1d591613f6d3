import { Readability } from "@mozilla/readability";
import { htmlToMarkdown } from "./markdown";

// A web page's main content: Readability (Firefox's reader view) drops navigation, headers, footers and
// sidebars; linkedom gives it a DOM without a browser. linkedom's dependencies are ES modules only: it is
// loaded with a real import(), as pdfjs is.

let linkedom: Promise<typeof import("linkedom")> | null = null;
export const loadLinkedom = () => (linkedom ??= import("linkedom"));
type Page = ReturnType<typeof import("linkedom")["parseHTML"]>["document"];

/** The page's article as Markdown, and its <title>. */
export async function parseHtml(html: string, url?: string): Promise<{ title: string | null; markdown: string }> {
  const { parseHTML } = await loadLinkedom();
  // linkedom makes the first element the root when the markup leaves out <html> and <body>, as HTML5 allows
  // ("<h1>..</h1><p>..</p>"): its body is then empty, so such a fragment is read inside a page.
  let { document } = parseHTML(html);
  if (document.documentElement?.tagName !== "HTML")
    ({ document } = parseHTML(`<!doctype html><html><head></head><body>${html}</body></html>`));
  const pageTitle = document.querySelector("title")?.textContent?.replace(/\s+/g, " ").trim() || null;
  dropChrome(document);
  if (url) absoluteLinks(document, url);
  // Readability changes the document it reads: it gets its own copy, and the page stays for the fallback.
  const copy = parseHTML(document.toString()).document;
  const article = new Readability(copy as unknown as Document, { charThreshold: 100 }).parse();
  if (article?.content) {
    const markdown = htmlToMarkdown(article.content);
    // Readability takes the heading that repeats the page's title out of the content: it goes back on top,
    // for the passages under it to carry.
    const h1 = document.querySelector("h1");
    const heading = h1?.textContent?.replace(/\s+/g, " ").trim();
    const restored = heading && !markdown.includes(heading) ? `${htmlToMarkdown(h1?.outerHTML ?? "")}\n\n${markdown}` : markdown;
    return { title: pageTitle ?? article.title?.trim() ?? null, markdown: restored };
  }
  // Not an article (a table of prices): the body without what every page repeats.
  return { title: pageTitle, markdown: htmlToMarkdown(document.body?.innerHTML ?? html) };
}

/** Links and images made absolute against the page's URL, so that a passage's links work wherever it is read. */
function absoluteLinks(document: Page, url: string) {
  for (const [selector, attribute] of [
    ["a[href]", "href"],
    ["img[src]", "src"],
  ]) {
    for (const el of Array.from(document.querySelectorAll(selector))) {
      const value = el.getAttribute(attribute) ?? "";
      if (value.startsWith("#")) continue;
      try {
        el.setAttribute(attribute, new URL(value, url).toString());
      } catch {
        el.removeAttribute(attribute);
      }
    }
  }
}

/**
 * Drops what every page of a site repeats: navigation, sidebars, and the page's own header and footer (not
 * an article's, which may hold its title or date). Readability finds these by itself on a long page; on a
 * short one it may keep the whole body.
 */
function dropChrome(document: Page) {
  const chrome = "nav, aside, script, style, noscript, [role=navigation], [role=banner], [role=contentinfo], header, footer";
  for (const el of Array.from(document.querySelectorAll(chrome))) {
    if ((el.tagName === "HEADER" || el.tagName === "FOOTER") && el.parentElement?.closest("article, main, section")) continue;
    el.remove();
  }
}
