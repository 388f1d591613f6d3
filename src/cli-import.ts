import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "./config";
import type { Db } from "./db/database";
import { KnowledgeIndex } from "./knowledge/index";
import { acceptFile, acceptUrl, type IngestDeps, ingestDocument } from "./knowledge/ingest";
import { createLogger } from "./logger";

// `npm run cli -- import --folder ID FILE|URL...`: each file or page parsed and indexed the way the API's
// ingest worker does it, but here, one after the other, with a line of progress each and a summary.

const BAR = 20;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const isUrl = (source: string) => /^https?:\/\//i.test(source);

/** `[#####.....] 3/12`: where the import is, for someone watching it. */
function progress(done: number, total: number): string {
  const filled = Math.round((done / total) * BAR);
  return `[${"#".repeat(filled)}${".".repeat(BAR - filled)}] ${done}/${total}`;
}

/** Imports the sources into the folder; throws after the summary if any failed (the CLI exits non-zero). */
export async function importDocuments(p: Db, folderId: string, sources: string[], cwd: string, out: (line: string) => void): Promise<void> {
  const config = loadConfig();
  const deps: IngestDeps = {
    prisma: p,
    knowledge: new KnowledgeIndex(p),
    queue: null,
    fetch: { allowPrivate: config.INGEST_ALLOW_PRIVATE_URLS, maxBytes: config.INGEST_MAX_BYTES, timeoutMs: config.INGEST_FETCH_TIMEOUT_MS },
    parse: { memoryMb: config.INGEST_PARSE_MEMORY_MB, timeoutMs: config.INGEST_PARSE_TIMEOUT_MS },
    logger: createLogger("silent"),
  };
  const failed: string[] = [];
  let passages = 0;
  for (const [i, source] of sources.entries()) {
    let line: string;
    let id: string | null = null;
    try {
      const doc = isUrl(source)
        ? await acceptUrl(deps, folderId, source)
        : await acceptFile(deps, folderId, await readSource(cwd, source, config.INGEST_MAX_BYTES));
      id = doc.id;
      await ingestDocument(deps, doc.id, true);
      const done = await p.document.findUniqueOrThrow({ where: { id: doc.id }, include: { _count: { select: { passages: true } } } });
      if (done.status !== "ready") throw new Error(done.error ?? "not indexed");
      passages += done._count.passages;
      line = `${source}: ${plural(done._count.passages, "passage")} (document ${doc.id})`;
    } catch (err) {
      // Reported here and now: a failed document is not left in the folder for someone to wonder about.
      if (id) await p.document.delete({ where: { id } });
      failed.push(`${source}: ${(err as Error).message}`);
      line = `${source}: failed: ${(err as Error).message}`;
    }
    out(`${progress(i + 1, sources.length)} ${line}`);
  }
  const ok = sources.length - failed.length;
  out(`${plural(ok, "document")}, ${plural(passages, "passage")}${failed.length ? `, ${failed.length} failed: ${failed.join("; ")}` : ""}`);
  if (failed.length) throw new Error(`${failed.length} of ${sources.length} documents failed`);
}

async function readSource(cwd: string, source: string, maxBytes: number) {
  const file = path.resolve(cwd, source);
  if ((await stat(file)).size > maxBytes) throw new Error(`larger than ${maxBytes} bytes (INGEST_MAX_BYTES)`);
  return { bytes: await readFile(file), contentType: "", fileName: path.basename(file) };
}
