import { parse } from "csv-parse/sync";
import { unprocessable } from "./errors";
import { rowsToMarkdown } from "./markdown";

/** The delimiter of the header line: a comma unless it has more semicolons or tabs (spreadsheets in many locales). */
function delimiterOf(text: string): string {
  const header = text.slice(0, text.indexOf("\n") >>> 0);
  const count = (c: string) => header.split(c).length - 1;
  return [",", ";", "\t"].reduce((best, c) => (count(c) > count(best) ? c : best));
}

/** CSV as a Markdown table, its first row the header. */
export function parseCsv(text: string): { title: null; markdown: string } {
  let rows: string[][];
  try {
    rows = parse(text, { delimiter: delimiterOf(text), bom: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true });
  } catch (err) {
    throw unprocessable(`The CSV cannot be read (${(err as Error).message})`);
  }
  return { title: null, markdown: rowsToMarkdown(rows) };
}
