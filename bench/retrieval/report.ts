import type { Row } from "../harness";
import type { ModeResult } from "../retrieval";
import type { CorpusFile } from "./corpus";
import { type Question, score, slices } from "./labels";

// The retrieval figure's two Markdown tables, as they go into the README: quality by slice of the labelled
// set (a column per mode), and ingest and search speed (a row per mode); and the figure's rows for run.ts.

function table(header: string[], rows: string[][]) {
  console.log(`\n| ${header.join(" | ")} |`);
  console.log(`| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

export function printQuality(results: ModeResult[], questions: Question[], files: CorpusFile[], note: string) {
  const formats = [...new Set(files.map((f) => f.format))].map((format) => `${files.filter((f) => f.format === format).length} ${format}`);
  const languages = new Set(files.map((f) => f.id.split("-")[0]));
  console.log(
    `\nRetrieval quality: ${questions.length} questions over ${files.length} documents (${formats.join(", ")}) in ${languages.size} languages; ` +
      `4 passages a question; hit@1 / hit@4 / MRR. A no-answer question counts as a hit when nothing is returned. ${note}.`,
  );
  const rows = slices(questions).map(([name, inSlice]) => {
    const cells = results.map((r) => {
      const s = score(r.judgements.filter((j) => inSlice(j.question)));
      return `${s.hit1.toFixed(2)} / ${s.hit4.toFixed(2)} / ${s.mrr.toFixed(2)}`;
    });
    return [name, String(questions.filter(inSlice).length), ...cells];
  });
  table(["questions", "n", ...results.map((r) => r.mode)], rows);
}

export function printSpeed(results: ModeResult[]) {
  const sizes = results[0]?.latency.map((l) => `search p50 / p99 at ${l.passages.toLocaleString("en")} passages`) ?? [];
  table(
    ["mode", "ingest", ...sizes],
    results.map((r) => [r.mode, r.ingest, ...r.latency.map((l) => `${l.p50} / ${l.p99} ms (${l.searches} searches)`)]),
  );
}

/** The figure's rows in `npm run bench`'s table: quality, ingest, latency at each size. */
export function rowsOf(r: ModeResult): Row[] {
  const row = (figure: string, hub: string, detail?: Record<string, unknown>): Row => ({
    figure: `retrieval ${r.mode}: ${figure}`,
    hub,
    baseline: "",
    ratio: null,
    target: "",
    met: null,
    detail,
  });
  const misses = r.judgements.filter((j) => j.rank !== 0).map((j) => ({ q: j.question.q, rank: j.rank }));
  const { hit1, hit4, mrr } = score(r.judgements);
  return [
    row(`hit@1 / hit@4 / MRR, ${r.judgements.length} questions`, `${hit1.toFixed(2)} / ${hit4.toFixed(2)} / ${mrr.toFixed(2)}`, { misses }),
    row("ingest", r.ingest),
    ...r.latency.map((l) =>
      row(`search p50 / p99 at ${l.passages.toLocaleString("en")} passages`, `${l.p50} / ${l.p99} ms (${l.searches} searches)`),
    ),
  ];
}
