import { lexer, type Token, type Tokens } from "marked";

// Assistants answer in Markdown; WhatsApp has its own small markup and SMS none at all. A reply is parsed
// with marked's lexer (so code spans, escapes and nesting are read the way a Markdown renderer reads them)
// and written out again in the style of the channel it goes to:
//
//   Markdown               WhatsApp              SMS
//   **bold** __bold__      *bold*                bold
//   *italic* _italic_      _italic_              italic
//   ~~strike~~             ~strike~              strike
//   `code`, ``` fences     ```code```            code
//   # Heading              *Heading* (own line)  Heading (own line)
//   - item, 1. item        • item, 1. item       - item, 1. item
//   > quote                > quote               quote
//   [text](url)            text (url), or the url alone when it is the text; an image is its url
//   | a | b | tables       one line a row: "• a: 1; b: 2"
//
// SMS keeps to ASCII marks: a single character outside the GSM alphabet (such as •) makes the whole message
// UCS-2, which fits 70 characters a segment instead of 160.

interface Style {
  strong(text: string): string;
  em(text: string): string;
  del(text: string): string;
  code(text: string): string;
  codeBlock(text: string): string;
  heading(text: string): string;
  quote(text: string): string;
  checkbox(checked: boolean): string;
  bullet: string;
  rule: string;
}

const whatsApp: Style = {
  strong: (text) => `*${text}*`,
  em: (text) => `_${text}_`,
  del: (text) => `~${text}~`,
  code: (text) => `\`\`\`${text}\`\`\``,
  codeBlock: (text) => `\`\`\`\n${text}\n\`\`\``,
  heading: (text) => `*${text}*`,
  quote: (text) => prefixLines(text, "> "),
  checkbox: (checked) => (checked ? "☑" : "☐"),
  bullet: "•",
  rule: "———",
};

const plain: Style = {
  strong: (text) => text,
  em: (text) => text,
  del: (text) => text,
  code: (text) => text,
  codeBlock: (text) => text,
  heading: (text) => text,
  quote: (text) => text,
  checkbox: (checked) => (checked ? "[x]" : "[ ]"),
  bullet: "-",
  rule: "---",
};

/** The reply in WhatsApp's formatting. */
export const toWhatsApp = (markdown: string) => render(markdown, whatsApp);

/** The reply as plain text, for SMS. */
export const toPlainText = (markdown: string) => render(markdown, plain);

const render = (markdown: string, style: Style) => blocks(lexer(markdown), style, "\n\n").trim();

function blocks(tokens: Token[], style: Style, separator: string): string {
  return tokens
    .map((token) => block(token as Tokens.Generic, style))
    .filter((text) => text !== "")
    .join(separator);
}

function block(token: Tokens.Generic, style: Style): string {
  switch (token.type) {
    case "space":
    case "def":
      return "";
    case "heading":
      // Marks inside a heading would nest in its own bold, which WhatsApp cannot show: the heading is bold alone.
      return style.heading(inline(token.tokens ?? [], plain));
    case "paragraph":
      return inline(token.tokens ?? [], style);
    case "text":
      return token.tokens ? inline(token.tokens, style) : token.text;
    case "code":
      return style.codeBlock(token.text);
    case "blockquote":
      return style.quote(blocks(token.tokens ?? [], style, "\n\n"));
    case "list":
      return list(token as Tokens.List, style);
    case "table":
      return table(token as Tokens.Table, style);
    case "hr":
      return style.rule;
    case "html":
      // Block HTML (a <div>, a comment) shows only its text: chat apps would print the tags.
      return token.text
        .replace(/<!--[\s\S]*?-->/g, "")
        .replace(/<[^>]*>/g, "")
        .trim();
    default:
      return token.raw.trim();
  }
}

function list(token: Tokens.List, style: Style): string {
  const first = token.start === "" ? 1 : Number(token.start);
  return token.items
    .map((item, i) => {
      const marker = token.ordered ? `${first + i}.` : style.bullet;
      // A task's box comes first in a tight item, or inside its paragraph in a loose one (then span() has it).
      const [head, ...rest] = item.tokens;
      const box = head?.type === "checkbox" ? style.checkbox(head.checked) : null;
      const body = blocks(box === null ? item.tokens : rest, style, item.loose ? "\n\n" : "\n");
      // Lines after the first (a nested list, a second paragraph) are indented under the item's text.
      const text = box === null ? body : `${box} ${body}`;
      return `${marker} ${text.replaceAll("\n", `\n${" ".repeat(marker.length + 1)}`)}`;
    })
    .join(token.loose ? "\n\n" : "\n");
}

/** A table as one line a row, each cell named by its column's header: chat apps have no columns. */
function table(token: Tokens.Table, style: Style): string {
  const headers = token.header.map((cell) => inline(cell.tokens, plain));
  if (token.rows.length === 0) return headers.join("; ");
  return token.rows
    .map((row) => {
      const cells = row
        .map((cell, i) => [headers[i], inline(cell.tokens, style)])
        .filter(([, value]) => value !== "")
        .map(([header, value]) => (header ? `${header}: ${value}` : value));
      return `${style.bullet} ${cells.join("; ")}`;
    })
    .join("\n");
}

function inline(tokens: Token[], style: Style): string {
  return tokens.map((token) => span(token as Tokens.Generic, style)).join("");
}

function span(token: Tokens.Generic, style: Style): string {
  switch (token.type) {
    case "text":
      return token.tokens ? inline(token.tokens, style) : token.text;
    case "escape":
      return token.text;
    case "strong":
      return wrap(style.strong, inline(token.tokens ?? [], style));
    case "em":
      return wrap(style.em, inline(token.tokens ?? [], style));
    case "del":
      return wrap(style.del, inline(token.tokens ?? [], style));
    case "codespan":
      return wrap(style.code, token.text);
    case "br":
      return "\n";
    case "link":
      return link(token as Tokens.Link, style);
    case "image":
      return token.href;
    case "checkbox":
      return `${style.checkbox(token.checked)} `;
    case "html":
      // Tags are not shown; the text between them comes as tokens of its own.
      return /^<br\s*\/?>$/i.test(token.text) ? "\n" : "";
    default:
      return token.raw;
  }
}

/** A link written out: its text and then its address, or the address alone when that is its text. */
function link(token: Tokens.Link, style: Style): string {
  const text = inline(token.tokens, style);
  const bare = inline(token.tokens, plain);
  if (bare === "" || bare === token.href || `mailto:${bare}` === token.href) return bare || token.href;
  return `${text} (${token.href})`;
}

/**
 * Puts marks around text, outside its surrounding spaces: WhatsApp only reads `*bold*` whose marks touch the
 * text. Text that is only spaces gets none.
 */
function wrap(mark: (text: string) => string, text: string): string {
  const [, before, body, after] = /^(\s*)([\s\S]*?)(\s*)$/.exec(text) ?? ["", "", text, ""];
  return body === "" ? text : `${before}${mark(body)}${after}`;
}

const prefixLines = (text: string, prefix: string) =>
  text
    .split("\n")
    .map((line) => prefix + line)
    .join("\n");
