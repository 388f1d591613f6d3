import { createHash } from "node:crypto";
import { extname } from "node:path";
import type { Queue } from "bullmq";
import type { Db } from "../db/database";
import { HubError } from "../errors";
import type { Logger } from "../logger";
import { enqueueIngest, INGEST_ATTEMPTS, type IngestJob } from "../queue";
import {
  asUtf8,
  checkDocument,
  type FetchOptions,
  type Format,
  fetchPage,
  formatOf,
  mediaType,
  PageUnavailable,
  type ParseLimits,
  parseAs,
  unprocessable,
  unsupportedType,
} from "./formats";
import type { KnowledgeIndex } from "./index";

// Files and web pages into a folder: accepted in the request (checked, stored with their bytes, enqueued),
// then parsed and indexed by the ingest worker. The stored bytes (documents.original) are what a retried or
// swept job starts again from; indexing replaces the passages and marks the document ready in one transaction.

export interface IngestDeps {
  prisma: Db;
  knowledge: KnowledgeIndex;
  /** Null: the caller indexes what it stores itself (ingestDocument), as the CLI does. */
  queue: Queue<IngestJob> | null;
  fetch: FetchOptions;
  /** How much memory and time reading one file may take; the defaults if not given. */
  parse?: ParseLimits;
  logger: Logger;
}

/** What the API answers for a document: its state, not its text. */
export const documentFields = {
  id: true,
  folderId: true,
  title: true,
  status: true,
  error: true,
  format: true,
  fileName: true,
  sourceUrl: true,
  language: true,
  fetchedAt: true,
  createdAt: true,
  updatedAt: true,
} as const;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Stores the checked document as processing and hands it to the ingest worker. */
async function store(
  deps: IngestDeps,
  data: { folderId: string; title: string; format: Format; original: Buffer; fileName?: string; sourceUrl?: string },
) {
  await checkDocument(data.original, data.format, deps.parse);
  const doc = await deps.prisma.document.create({
    data: {
      ...data,
      original: new Uint8Array(data.original),
      content: "",
      status: "processing",
      fetchedAt: data.sourceUrl ? new Date() : null,
    },
    select: documentFields,
  });
  if (!deps.queue) return doc;
  // Redis away: the document stays processing, stored, and the sweeper enqueues it once Redis is back.
  await enqueueIngest(deps.queue, "ingest", doc.id).catch((err) =>
    deps.logger.warn({ document: doc.id, err: (err as Error).message }, "ingest job not enqueued; the sweeper will"),
  );
  return doc;
}

/** An uploaded file: 415 for a type not supported, 422 for one that cannot be read. */
export async function acceptFile(
  deps: IngestDeps,
  folderId: string,
  file: { bytes: Buffer; contentType: string; fileName?: string; title?: string },
) {
  const format = formatOf(file.contentType, file.fileName);
  if (!format) throw unsupportedType(mediaType(file.contentType) || extname(file.fileName ?? ""));
  const title = file.title ?? file.fileName ?? `Untitled ${format} document`;
  return store(deps, { folderId, title, format, original: asUtf8(file.bytes, file.contentType), fileName: file.fileName });
}

/** A web page (or a file on the web), fetched now: an unreachable or refused URL is a 422 with nothing stored. */
export async function acceptUrl(deps: IngestDeps, folderId: string, url: string, title?: string) {
  const page = await fetchPage(url, deps.fetch);
  const format = formatOf(page.contentType, new URL(page.url).pathname);
  if (!format) throw unsupportedType(mediaType(page.contentType));
  return store(deps, { folderId, title: title ?? url, format, original: page.bytes, sourceUrl: url });
}

/**
 * The ingest job: parses the stored bytes and indexes the text. A document indexed before (its folder's
 * language changed) is indexed again from its stored text, never fetched again; a URL document never indexed
 * is fetched. A document that cannot be read is given up at once, with the reason; any other error (a page
 * that did not answer now, the database) is thrown for the job to be tried again, unless this was its last try.
 */
export async function ingestDocument(deps: IngestDeps, documentId: string, lastTry = false): Promise<void> {
  const { prisma } = deps;
  const doc = await prisma.document.findUnique({ where: { id: documentId } });
  if (doc?.status !== "processing") return;
  if (doc.attempts >= INGEST_ATTEMPTS) return giveUp(deps, doc, `Gave up after ${doc.attempts} attempts (the worker stopped mid-ingest)`);
  await prisma.document.update({ where: { id: documentId }, data: { attempts: { increment: 1 }, updatedAt: new Date() } });
  try {
    let bytes: Buffer | null = doc.original ? Buffer.from(doc.original) : null;
    if (!bytes && doc.content) {
      await deps.knowledge.indexDocument(documentId, doc.folderId, doc.content);
      return;
    }
    let format = doc.format as Format;
    let fetched = false;
    if (!bytes && doc.sourceUrl) {
      const page = await fetchPage(doc.sourceUrl, deps.fetch);
      fetched = true;
      bytes = page.bytes;
      format = formatOf(page.contentType, new URL(page.url).pathname) ?? format;
    }
    if (!bytes) return giveUp(deps, doc, "Nothing to index: the upload was not kept");
    const parsed = await parseText(format, bytes, doc.fileName ?? undefined, doc.sourceUrl ?? undefined, deps.parse);
    // A title the caller did not choose (the file name, the URL) gives way to the document's own.
    const defaulted = doc.title === doc.fileName || doc.title === doc.sourceUrl;
    const title = defaulted && parsed.title ? parsed.title.slice(0, 300) : doc.title;
    await deps.knowledge.indexDocument(documentId, doc.folderId, parsed.markdown, { title, contentHash: sha256(parsed.markdown) });
    await prisma.document.updateMany({ where: { id: documentId }, data: { format, ...(fetched ? { fetchedAt: new Date() } : {}) } });
  } catch (err) {
    if (await isGone(deps, documentId)) return;
    if (isFinal(err)) return giveUp(deps, doc, (err as HubError).message);
    const reason = errorText(deps, documentId, err, "Indexing failed");
    if (lastTry) return giveUp(deps, doc, `${reason}; gave up after ${doc.attempts + 1} attempts`);
    await prisma.document.updateMany({ where: { id: documentId, status: "processing" }, data: { error: `${reason}; it will be retried` } });
    throw err;
  }
}

/**
 * The refresh job of a URL document: fetched again and, if its text changed (or its last indexing failed),
 * indexed again; the old passages stay searchable until then. A page whose text is the same is only marked
 * as fetched. A refresh that fails keeps the document as it was, with the reason in `error` and `fetchedAt`
 * moved, so that a schedule waits its full interval before the next try rather than retrying in a loop;
 * only a page that did not answer now, or an internal error, is tried again within the job first.
 */
export async function refreshDocument(deps: IngestDeps, documentId: string, lastTry = true): Promise<void> {
  const { prisma } = deps;
  const doc = await prisma.document.findUnique({ where: { id: documentId } });
  if (!doc?.sourceUrl || doc.status !== "ready") return;
  try {
    const page = await fetchPage(doc.sourceUrl, deps.fetch);
    const format = formatOf(page.contentType, new URL(page.url).pathname) ?? (doc.format as Format);
    const parsed = await parseText(format, page.bytes, undefined, page.url, deps.parse);
    const contentHash = sha256(parsed.markdown);
    if (contentHash !== doc.contentHash || doc.error)
      await deps.knowledge.indexDocument(documentId, doc.folderId, parsed.markdown, { contentHash });
    await prisma.document.updateMany({ where: { id: documentId }, data: { format, fetchedAt: new Date(), error: null } });
  } catch (err) {
    if (await isGone(deps, documentId)) return;
    if (!isFinal(err) && !lastTry) throw err;
    await prisma.document.updateMany({
      where: { id: documentId },
      data: { error: errorText(deps, documentId, err, "Refresh failed"), fetchedAt: new Date() },
    });
  }
}

/** Queues a URL document's refresh; a failed one is fetched and indexed afresh (its bytes were not kept). */
export async function requestRefresh(deps: IngestDeps, doc: { id: string; status: string }): Promise<void> {
  if (!deps.queue) return;
  if (doc.status === "failed") {
    await deps.prisma.document.updateMany({
      where: { id: doc.id, status: "failed" },
      data: { status: "processing", error: null, attempts: 0, updatedAt: new Date() },
    });
    await enqueueIngest(deps.queue, "ingest", doc.id);
  } else if (doc.status === "ready") {
    await enqueueIngest(deps.queue, "refresh", doc.id);
  }
}

/**
 * The document is not indexed this time. One never indexed ends failed; one indexed before stays ready with
 * the reason in `error`, as its old passages are still what search finds: `failed` always means that nothing
 * of the document is searchable.
 */
async function giveUp(deps: IngestDeps, doc: { id: string; content: string }, reason: string): Promise<void> {
  deps.logger.warn({ document: doc.id, reason }, "document not indexed");
  await deps.prisma.document.updateMany({
    where: { id: doc.id, status: "processing" },
    data: { status: doc.content ? "ready" : "failed", error: reason, original: null, updatedAt: new Date() },
  });
}

/** A reason the user may read (and that trying again will not change): a HubError below 500, not a page away for now. */
const isFinal = (err: unknown) => err instanceof HubError && err.status < 500 && !(err instanceof PageUnavailable);

/** What `error` says: a HubError's own message; anything else is logged, and only said to be internal. */
function errorText(deps: IngestDeps, documentId: string, err: unknown, what: string): string {
  if (err instanceof HubError) return `${what}: ${err.message}`;
  deps.logger.error({ document: documentId, err: (err as Error)?.message, stack: (err as Error)?.stack }, what.toLowerCase());
  return `${what} (internal error)`;
}

/**
 * The parsed document without NUL characters, which Postgres text cannot hold (a stray \0 in a text file or a
 * page would otherwise fail every try at the database).
 */
async function parseText(format: Format, bytes: Buffer, fileName?: string, url?: string, limits?: ParseLimits) {
  const parsed = await parseAs(format, bytes, fileName, url, limits);
  const markdown = parsed.markdown.replaceAll("\u0000", "").trim();
  if (!markdown) throw unprocessable(`The ${format} document has no text to index`);
  return { ...parsed, markdown, title: parsed.title?.replaceAll("\u0000", "") || null };
}

/** Whether the document was deleted while it was being indexed (then there is nothing to do). */
const isGone = async (deps: IngestDeps, id: string) =>
  !(await deps.prisma.document.findUnique({ where: { id }, select: { id: true } }).catch(() => ({ id })));
