import { performance } from "node:perf_hooks";
import { loadConfig } from "../src/config";
import type { Database } from "../src/db/database";
import type { KnowledgeIndex } from "../src/knowledge";
import { openTestDatabase } from "../test/support/databases";
import type { BenchOptions, Row } from "./harness";
import { type CorpusFile, loadCorpus } from "./retrieval/corpus";
import { answers, type Judgement, judge, loadQuestions, type Question } from "./retrieval/labels";
import { loadDocument } from "./retrieval/load";
import { type Mode, startModes } from "./retrieval/modes";
import { printQuality, printSpeed, rowsOf } from "./retrieval/report";
import { addSyntheticPassages } from "./retrieval/synthetic";

// How well the knowledge folders find the answer: the labelled set of bench/retrieval (documents in six
// languages as Markdown, web pages, PDFs and Word files; questions with the phrase that answers them, some
// asked across languages, some with no answer at all) loaded through the hub's own indexing into a fresh
// database, every question searched as an assistant would (4 passages), and the search's latency once the
// org holds 10,000 and 100,000 passages. Each mode runs in a database of its own.

const LIMIT = 4;
const SIZES = [10_000, 100_000];
/**
 * Searches timed at each size: 200, or as many as fit in 30 s with the warm-up (at 100,000 passages a search
 * takes from half a second to seconds on a busy 2-core machine), so that the figure stays near 1.5 minutes a mode.
 */
const TIMED_SEARCHES = 200;
const TIMED_SECONDS = 30;

export interface ModeResult {
  mode: string;
  judgements: Judgement[];
  documents: number;
  passages: number;
  ingestSeconds: number;
  pdfPages: number;
  pdfSeconds: number;
  /** Search latency in ms by passages in the org. */
  latency: { passages: number; p50: number; p99: number; searches: number }[];
  /** Documents/s, and PDF pages/s. */
  ingest: string;
}

async function runMode(mode: Mode, files: CorpusFile[], questions: Question[]): Promise<ModeResult> {
  const db = await openTestDatabase("postgres");
  try {
    const index = mode.index(db);
    await warmUp(db, index, files);
    const org = await db.prisma.org.create({ data: { name: `retrieval bench ${mode.name}` } });
    const folder = await db.prisma.folder.create({ data: { orgId: org.id, name: "labelled corpus" } });
    const docOf = new Map<string, string>();
    let [ingestSeconds, pdfSeconds] = [0, 0];
    for (const file of files) {
      const started = performance.now();
      docOf.set(await loadDocument(db.prisma, index, folder.id, file), file.id);
      const seconds = (performance.now() - started) / 1000;
      ingestSeconds += seconds;
      if (file.format === "pdf") pdfSeconds += seconds;
    }
    const stored = await db.sql<{ documentId: string; content: string }>(
      'SELECT document_id::text AS "documentId", content FROM passages WHERE folder_id = $1',
      [folder.id],
    );
    warnUnreachable(
      questions,
      stored.map((p) => ({ doc: docOf.get(p.documentId) as string, content: p.content })),
    );

    const search = (q: string) => index.search({ orgId: org.id }, q, LIMIT);
    const judgements: Judgement[] = [];
    for (const question of questions) {
      const found = await search(question.q);
      judgements.push(
        judge(
          question,
          found.map((p) => ({ doc: docOf.get(p.documentId) ?? "?", content: p.content })),
        ),
      );
    }

    const latency: ModeResult["latency"] = [];
    for (const size of SIZES) {
      const [{ count }] = await db.sql<{ count: string }>(
        "SELECT count(*) FROM passages p JOIN folders f ON f.id = p.folder_id WHERE f.org_id = $1",
        [org.id],
      );
      const started = performance.now();
      await addSyntheticPassages(db, org.id, size - Number(count));
      const added = performance.now();
      // A new index: its embeddings client has not kept the questions' vectors from the searches above.
      const fresh = mode.index(db);
      latency.push({ passages: size, ...(await timeSearches((q) => fresh.search({ orgId: org.id }, q, LIMIT), questions)) });
      const [insert, searching] = [(added - started) / 1000, (performance.now() - added) / 1000];
      const timed = `${latency[latency.length - 1].searches} searches ${searching.toFixed(1)} s`;
      console.log(`retrieval ${mode.name}: ${size} passages: bulk insert ${insert.toFixed(1)} s, ${timed}`);
    }
    const result = {
      mode: mode.name,
      judgements,
      documents: files.length,
      passages: stored.length,
      ingestSeconds,
      pdfPages: files.reduce((n, f) => n + (f.pages ?? 0), 0),
      pdfSeconds,
      latency,
    };
    return { ...result, ingest: ingestFigure(result) };
  } finally {
    await db.close();
  }
}

/**
 * The first file of a format loads its parser (pdfjs, mammoth, Readability) and the first search its plans:
 * one file of each format loaded untimed first, into an org deleted before the measured run.
 */
async function warmUp(db: Database, index: KnowledgeIndex, files: CorpusFile[]) {
  const org = await db.prisma.org.create({ data: { name: "retrieval bench warm-up" } });
  const folder = await db.prisma.folder.create({ data: { orgId: org.id, name: "warm-up" } });
  for (const format of new Set(files.map((f) => f.format))) {
    await loadDocument(db.prisma, index, folder.id, files.find((f) => f.format === format) as CorpusFile);
  }
  await index.search({ orgId: org.id }, "warm-up", LIMIT);
  await db.prisma.org.delete({ where: { id: org.id } });
}

/** Labels whose phrase is in no single stored passage can never be hit: a label or chunking fault to see. */
function warnUnreachable(questions: Question[], passages: { doc: string; content: string }[]) {
  const missing = questions.flatMap((q) => q.expect.filter((e) => !passages.some((p) => answers(e, p.doc, p.content))));
  for (const e of missing) console.log(`retrieval: no passage of ${e.doc} contains "${e.contains}"`);
}

async function timeSearches(search: (q: string) => Promise<unknown>, questions: Question[]) {
  const until = performance.now() + TIMED_SECONDS * 1000;
  // A few unmeasured searches first, the first ones paying for planning and cold pages; of the last
  // questions, so that the timed ones (from the first) have their vectors to fetch like any new question.
  for (const q of questions.slice(-3)) await search(q.q);
  const times: number[] = [];
  for (let i = 0; i < TIMED_SEARCHES && (i === 0 || performance.now() < until); i++) {
    const started = performance.now();
    await search(questions[i % questions.length].q);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => Number(times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1));
  return { p50: at(0.5), p99: at(0.99), searches: times.length };
}

export async function retrievalBenchmark(opts: BenchOptions, rows: Row[]) {
  const files = await loadCorpus();
  const questions = loadQuestions();
  const modes = await startModes(loadConfig());
  const results: ModeResult[] = [];
  try {
    const chosen = modes.modes.filter((m) => !opts.retrievalModes || opts.retrievalModes.includes(m.name));
    if (!chosen.length) throw new Error(`--retrieval-modes takes ${modes.modes.map((m) => m.name).join(",")}`);
    for (const mode of chosen) results.push(await runMode(mode, files, questions));
  } finally {
    await modes.close();
  }
  printQuality(results, questions, files, modes.embeddings);
  printSpeed(results);
  for (const r of results) rows.push(...rowsOf(r));
}

/** Documents/s over the whole corpus, and PDF pages/s over the PDFs alone. */
function ingestFigure(r: Omit<ModeResult, "ingest">): string {
  const pages = (r.pdfPages / r.pdfSeconds).toFixed(1);
  return `${(r.documents / r.ingestSeconds).toFixed(1)} documents/s (${r.passages} passages), ${pages} PDF pages/s`;
}
