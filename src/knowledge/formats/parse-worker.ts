import { parentPort } from "node:worker_threads";
import { HubError } from "../../errors";
import { checkDocx, parseDocx } from "./docx";
import { loadLinkedom, parseHtml } from "./html";
import { checkPdf, parsePdf, pdfjs } from "./pdf";

// A worker thread's body (see sandbox.ts): loads the readers, says it is ready, then reads the documents it
// is sent, one at a time, answering each.

export interface ParseTask {
  /** `check`: the quick checks an upload gets before it is stored; `parse`: its text. */
  op: "check" | "parse";
  format: "pdf" | "docx" | "html";
  bytes: Uint8Array;
  url?: string;
}
export type Parsed = { title: string | null; markdown: string };
export type ParseReply = { ok: Parsed | null } | { refused: { status: number; message: string } } | { failed: string };

async function run({ op, format, bytes: array, url }: ParseTask): Promise<Parsed | null> {
  const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  if (format === "pdf") return op === "check" ? checkPdf(bytes).then(() => null) : parsePdf(bytes);
  if (format === "docx") return op === "check" ? checkDocx(bytes).then(() => null) : parseDocx(bytes);
  return op === "check" ? null : parseHtml(new TextDecoder("utf-8").decode(bytes), url);
}

// Loaded before the first document, so that neither their time nor their memory counts as the document's.
void Promise.all([pdfjs(), loadLinkedom()]).then(() => parentPort?.postMessage("ready"));

parentPort?.on("message", (task: ParseTask) =>
  run(task).then(
    (ok) => parentPort?.postMessage({ ok } satisfies ParseReply),
    (err: unknown) =>
      parentPort?.postMessage(
        (err instanceof HubError
          ? { refused: { status: err.status, message: err.message } }
          : { failed: (err as Error)?.message ?? String(err) }) satisfies ParseReply,
      ),
  ),
);
