// How the widget shows an assistant's reply: its Markdown rendered by marked, then cleaned by DOMPurify down to
// the few elements a chat reply needs. Nothing that runs or loads survives: no script, iframe, style, form,
// event handler or image (an image loads from wherever the reply points, telling that server who read it; each
// becomes a link instead). Links keep only http(s), mailto and tel addresses, and open in a new tab.
// Both libraries come from the hub (/widget/vendor/, the versions its package-lock pins).
import { Marked } from "./widget/vendor/marked.esm.js";
import createDOMPurify from "./widget/vendor/purify.es.mjs";

const ALLOWED = {
  ALLOWED_TAGS: "p br strong em del code pre blockquote ul ol li a hr h1 h2 h3 h4 h5 h6 table thead tbody tr th td".split(" "),
  ALLOWED_ATTR: ["href", "title", "start", "align"],
  ALLOWED_URI_REGEXP: /^(?:https?|mailto|tel):/i,
  RETURN_DOM_FRAGMENT: true,
};

// An instance of our own, so its hook is not added to a DOMPurify the host page may use.
const purify = createDOMPurify(window);
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  // A reply's line breaks are meant as line breaks, as in any chat.
  breaks: true,
  renderer: {
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
    checkbox: ({ checked }) => (checked ? "☑ " : "☐ "),
  },
});

/** The reply's Markdown as a fragment of safe elements. */
export function renderMarkdown(markdown) {
  return purify.sanitize(marked.parse(markdown, { async: false }), ALLOWED);
}
