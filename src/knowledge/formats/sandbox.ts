import path from "node:path";
import { Worker } from "node:worker_threads";
import { HubError } from "../../errors";
import { unprocessable } from "./errors";
import type { Parsed, ParseReply, ParseTask } from "./parse-worker";

// PDF, DOCX and HTML are read in a worker thread, one document at a time, so that a file made to explode (a
// zip bomb, a PDF stream that inflates to gigabytes, a page that takes minutes) costs that thread, not the
// hub: the thread's JavaScript heap is capped, and the thread is ended past the time limit, or as soon as the
// process has grown by more than the memory limit since the document was handed over (buffers, where
// inflated streams go, live outside the heap that a worker's resourceLimits cap). One at a time, so that
// this growth is the document's own. The thread is kept for the next document (loading pdfjs into a new one
// takes a second or two) and ended once idle, or once it went past a limit, its memory with it.

export interface ParseLimits {
  /** The most a document's reading may grow the process by, in MB (INGEST_PARSE_MEMORY_MB). */
  memoryMb: number;
  /** How long reading a document may take (INGEST_PARSE_TIMEOUT_MS). */
  timeoutMs: number;
}
export const DEFAULT_LIMITS: ParseLimits = { memoryMb: 512, timeoutMs: 60_000 };

// The worker is TypeScript, loaded through tsx's require hook: Node 20 does not pass the hooks that
// `--import tsx` installs on to worker threads, and under jest there are none to pass.
const WORKER = path.join(__dirname, "parse-worker.ts");
const EXEC_ARGV = ["--require", "tsx/cjs"];
const WATCH_MS = 50;
const IDLE_MS = 15_000;
/** The heap the readers take once loaded (pdfjs, linkedom, mammoth: about 100 MB), on top of the document's. */
const READERS_MB = 128;
const MB = 1024 * 1024;

interface Reader {
  worker: Worker;
  memoryMb: number;
  /** Settled once the thread has loaded the readers (a second or two, pdfjs the most of it). */
  ready: Promise<void>;
  idle?: NodeJS.Timeout;
}
let reader: Reader | null = null;
let previous: Promise<unknown> = Promise.resolve();

/** The task's answer from the reader thread, after the tasks before it; 422 when it outgrows the limits. */
export function inWorker(task: ParseTask, limits: ParseLimits = DEFAULT_LIMITS): Promise<Parsed | null> {
  const turn = previous.then(() => run(task, limits));
  previous = turn.catch(() => {});
  return turn;
}

/** The reader thread, started if there is none with this memory limit. */
function readerFor(memoryMb: number): Reader {
  if (reader && reader.memoryMb !== memoryMb) retire(reader);
  if (!reader) {
    const worker = new Worker(WORKER, { execArgv: EXEC_ARGV, resourceLimits: { maxOldGenerationSizeMb: READERS_MB + memoryMb } });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`The document reader stopped as it started (exit code ${code})`)));
    });
    ready.catch(() => {});
    const started: Reader = { worker, memoryMb, ready };
    worker.on("exit", () => {
      if (reader === started) reader = null;
    });
    // An error ends the thread; a task running then is told by its own listener.
    worker.on("error", () => {});
    reader = started;
  }
  clearTimeout(reader.idle);
  return reader;
}

function retire(r: Reader): Promise<number> {
  if (reader === r) reader = null;
  clearTimeout(r.idle);
  return r.worker.terminate();
}

async function run(task: ParseTask, limits: ParseLimits): Promise<Parsed | null> {
  const name = task.format.toUpperCase();
  const tooBig = () => unprocessable(`The ${name} document needs more memory than allowed to read (${limits.memoryMb} MB)`);
  const tooSlow = () => unprocessable(`The ${name} document took longer than ${limits.timeoutMs / 1000} s to read`);
  const r = readerFor(limits.memoryMb);
  const { worker } = r;
  worker.ref();
  await r.ready.catch((err) => {
    void retire(r);
    throw err;
  });
  return new Promise((resolve, reject) => {
    const startRss = process.memoryUsage.rss();
    /** Settles the task; a thread that went past a limit or broke is ended first, its memory back. */
    const done = (settle: () => void, broken: boolean) => {
      clearTimeout(timer);
      clearInterval(watch);
      worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      if (broken) return void retire(r).then(settle, settle);
      // Idle, the thread keeps no process alive (the CLI's ends when its work does).
      worker.unref();
      r.idle = setTimeout(() => retire(r), IDLE_MS).unref();
      settle();
    };
    const onMessage = (reply: ParseReply) =>
      done(
        () => {
          if ("ok" in reply) resolve(reply.ok);
          else if ("refused" in reply) reject(new HubError(reply.refused.status, "invalid_message", reply.refused.message));
          else reject(new Error(`The ${name} document could not be read: ${reply.failed}`));
        },
        "failed" in reply,
      );
    const onError = (err: Error & { code?: string }) => done(() => reject(err.code === "ERR_WORKER_OUT_OF_MEMORY" ? tooBig() : err), true);
    const onExit = (code: number) => done(() => reject(new Error(`The ${name} reader stopped (exit code ${code})`)), true);
    const timer = setTimeout(() => done(() => reject(tooSlow()), true), limits.timeoutMs);
    const watch = setInterval(() => {
      if (process.memoryUsage.rss() - startRss > limits.memoryMb * MB) done(() => reject(tooBig()), true);
    }, WATCH_MS);
    worker.on("message", onMessage).once("error", onError).once("exit", onExit);
    worker.postMessage(task);
  });
}
