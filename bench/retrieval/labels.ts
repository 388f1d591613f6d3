import { readFileSync } from "node:fs";
import path from "node:path";

// The labelled questions and how a search's answer to one is judged. A hit is a returned passage of the
// expected document that contains the expected phrase: it says the passage answers the question whatever
// the chunking, where passage ids or positions would change with every change to the splitter.

export interface Expectation {
  /** A corpus file's id (its name without extensions). */
  doc: string;
  /** Words of the answer, as written in the document; matched ignoring case, spacing and Markdown marks. */
  contains: string;
}

export interface Question {
  q: string;
  /** The question's language (ISO 639-1). */
  lang: string;
  /** Any of these passages answers it; none: the corpus has no answer, and nothing should be returned. */
  expect: Expectation[];
  /** Asked in another language than the answer is written in. */
  cross?: boolean;
  /** Worded without the document's own words. */
  paraphrase?: boolean;
}

export function loadQuestions(): Question[] {
  return JSON.parse(readFileSync(path.join(__dirname, "questions.json"), "utf8"));
}

/** Lower case, Markdown's table and emphasis marks as spaces, whitespace collapsed. */
export function normalize(text: string): string {
  return text
    .normalize("NFC")
    .toLowerCase()
    .replace(/[|*_`#]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

export function answers(expectation: Expectation, docId: string, content: string): boolean {
  return expectation.doc === docId && normalize(content).includes(normalize(expectation.contains));
}

export interface Judgement {
  question: Question;
  /** 0-based rank of the first passage that answers, -1 if none did; for no-answer questions 0 when nothing was returned. */
  rank: number;
}

/** Where the first answering passage is among the results (each with its corpus file id). */
export function judge(question: Question, results: { doc: string; content: string }[]): Judgement {
  if (!question.expect.length) return { question, rank: results.length ? -1 : 0 };
  return { question, rank: results.findIndex((r) => question.expect.some((e) => answers(e, r.doc, r.content))) };
}

export interface Score {
  questions: number;
  hit1: number;
  hit4: number;
  mrr: number;
}

export function score(judgements: Judgement[]): Score {
  const n = judgements.length || 1;
  const sum = (f: (j: Judgement) => number) => judgements.reduce((s, j) => s + f(j), 0) / n;
  return {
    questions: judgements.length,
    hit1: sum((j) => (j.rank === 0 ? 1 : 0)),
    hit4: sum((j) => (j.rank >= 0 && j.rank < 4 ? 1 : 0)),
    mrr: sum((j) => (j.rank >= 0 ? 1 / (j.rank + 1) : 0)),
  };
}

/** The slices the figure reports: all questions, each language, cross-language, paraphrased, no-answer. */
export function slices(questions: Question[]): [string, (q: Question) => boolean][] {
  const languages = [...new Set(questions.map((q) => q.lang))];
  return [
    ["all", () => true],
    ...languages.map((lang): [string, (q: Question) => boolean] => [
      `${lang} (answer in ${lang})`,
      (q) => q.lang === lang && !q.cross && q.expect.length > 0,
    ]),
    ["cross-language", (q) => Boolean(q.cross)],
    ["paraphrased", (q) => Boolean(q.paraphrase)],
    ["no answer in corpus", (q) => q.expect.length === 0],
  ];
}
