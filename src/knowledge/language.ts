import { detectAll } from "tinyld";

/**
 * Postgres text-search configurations by ISO 639-1 code: the languages Postgres stems and knows the stop
 * words of. Only those the database actually has are used (see TextSearchLanguages); any other language is
 * indexed with 'simple' over unaccented text.
 */
const CONFIG_BY_CODE: Record<string, string> = {
  ar: "arabic",
  hy: "armenian",
  eu: "basque",
  ca: "catalan",
  da: "danish",
  nl: "dutch",
  en: "english",
  fi: "finnish",
  fr: "french",
  de: "german",
  el: "greek",
  hi: "hindi",
  hu: "hungarian",
  id: "indonesian",
  ga: "irish",
  it: "italian",
  lt: "lithuanian",
  ne: "nepali",
  no: "norwegian",
  nb: "norwegian",
  nn: "norwegian",
  pt: "portuguese",
  ro: "romanian",
  ru: "russian",
  sr: "serbian",
  es: "spanish",
  sv: "swedish",
  ta: "tamil",
  tr: "turkish",
  yi: "yiddish",
};

/** Language names ICU knows: a code it has no name for ("xx") is no language. */
const LANGUAGE_NAMES = new Intl.DisplayNames(["en"], { type: "language", fallback: "none" });

/**
 * Whether a folder may be set to this language: a known two-letter ISO 639-1 code, with a region or script if
 * wanted ("pt", "pt-BR", "sr_Latn"), or a Postgres configuration's name ("german", "simple"). A code Postgres
 * has no configuration for is allowed: its documents are indexed with 'simple', unaccented. Three-letter codes
 * ("deu") are not: configFor() knows none of them, and would silently index German as 'simple'.
 */
export function isLanguage(value: string): boolean {
  const code = /^([a-z]{2})(?:[-_][a-z0-9]{2,8})?$/i.exec(value)?.[1];
  if (code) return LANGUAGE_NAMES.of(code.toLowerCase()) !== undefined;
  return value === "simple" || Object.values(CONFIG_BY_CODE).includes(value);
}

/** What a document whose language could not be told is stored as (ISO 639-2 "undetermined"). */
export const UNDETERMINED = "und";

// Detection reads this much of a document: more is slower and no surer.
const DETECT_CHARS = 4000;

/**
 * The ISO 639-1 code of the text's language, or UNDETERMINED when the detector cannot tell: it reads the words
 * only (no tags, addresses or code, which it would take for a language of their own), and a guess no surer
 * than the runner-up ("Descaling the toaster: use vinegar." is Romanian by a hair) is no answer. tinyld
 * counts "|" as Hindi: a Markdown table's pipes (most PDFs, Word files and web pages, as converted) are spaces.
 */
export function detectLanguage(text: string): string {
  const words = text
    .replace(/```[\s\S]*?```|<(script|style)\b[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/\]\([^)]*\)/g, "]")
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, " ")
    .replaceAll("|", " ");
  const [first, second] = detectAll(words.slice(0, DETECT_CHARS));
  if (!first?.lang) return UNDETERMINED;
  return first.accuracy >= SURE || !second || first.accuracy >= second.accuracy * AHEAD ? first.lang : UNDETERMINED;
}
/** tinyld's accuracy for a guess taken at its word, and how far ahead of the runner-up a less sure one must be. */
const SURE = 0.5;
const AHEAD = 1.5;

/**
 * Lower-case, without accents: how 'simple'-configured text and queries are compared, so that "cafe" finds
 * "Café". NFD splits most accented letters into a base and a combining mark; the few letters that do not
 * decompose (ł, ø, ß, ...) are spelt out.
 */
export function unaccent(text: string): string {
  return text
    .normalize("NFD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[łøđßæœı]/g, (c) => SPELT_OUT[c]);
}
const SPELT_OUT: Record<string, string> = { ł: "l", ø: "o", đ: "d", ß: "ss", æ: "ae", œ: "oe", ı: "i" };

/** The text-search configurations this database has, read once. */
export class TextSearchLanguages {
  constructor(private readonly configs: Set<string>) {}

  /**
   * The configuration for a language: an ISO code ("de", "pt-BR") or a configuration's own name ("german", as a
   * folder may be set to); null and UNDETERMINED are English; anything unknown is 'simple'.
   */
  configFor(language: string | null): string {
    // Rows stored before languages were detected were indexed as English; so is a text too short or mixed to
    // tell, most often a snippet in the hub's default language (a folder's language overrides it).
    if (language === null || language === UNDETERMINED) return "english";
    // A region or script ("pt-BR", "sr_Latn") does not change the configuration.
    const name = language.toLowerCase().split(/[-_]/)[0];
    const config = CONFIG_BY_CODE[name] ?? name;
    return this.configs.has(config) ? config : "simple";
  }
}
