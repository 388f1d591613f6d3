import type { Job, Queue, Worker } from "bullmq";
import type { Db } from "../src/db/database";
import { type IngestDeps, ingestDocument, refreshDocument } from "../src/knowledge/ingest";
import { enqueueIngest, type HubWorkerOptions, INGEST_QUEUE, type IngestJob, startHubWorker } from "../src/queue";

// Idempotency: an ingest job does nothing unless its document is still processing, and indexing replaces
// the document's passages and marks it ready in one transaction; a refresh job indexes only text whose hash
// changed. So a retried, duplicated or swept job indexes a document once, and never leaves it half-indexed.
// A refresh's last try records its failure with fetchedAt, so the sweeper waits a full interval to try again.
// Each start counts in documents.attempts, so a document that keeps killing its worker ends failed.

export type IngestWorkerOptions = HubWorkerOptions;

export function createIngestProcessor(deps: IngestDeps) {
  return async (job: Job<IngestJob>): Promise<void> => {
    const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (job.name === "refresh") return refreshDocument(deps, job.data.documentId, lastTry);
    await ingestDocument(deps, job.data.documentId, lastTry);
  };
}

export function startIngestWorker(deps: IngestDeps, opts: IngestWorkerOptions): Worker<IngestJob> {
  return startHubWorker(INGEST_QUEUE, createIngestProcessor(deps), opts, deps.logger);
}

const BATCH = 500;

/**
 * For the sweeper: documents still processing `afterMs` after they were stored or last started, whose job is
 * gone (Redis lost it, or it ended without indexing them), are enqueued again; URL documents of folders
 * with a refresh interval are refreshed once it has passed since they were last fetched.
 */
export async function sweepDocuments(prisma: Db, queue: Queue<IngestJob>, afterMs: number): Promise<number> {
  const stuck = await prisma.document.findMany({
    where: { status: "processing", updatedAt: { lt: new Date(Date.now() - afterMs) } },
    select: { id: true },
    orderBy: { updatedAt: "asc" },
    take: BATCH,
  });
  const due = await prisma.$queryRaw<{ id: string }[]>`
    SELECT d.id::text AS id FROM documents d JOIN folders f ON f.id = d.folder_id
    WHERE f.refresh_minutes IS NOT NULL AND d.source_url IS NOT NULL AND d.status = 'ready'
      AND (d.fetched_at IS NULL OR d.fetched_at < now() - make_interval(mins => f.refresh_minutes))
    ORDER BY d.fetched_at NULLS FIRST LIMIT ${BATCH}`;
  let moved = 0;
  for (const { id } of stuck) if (await enqueueIngest(queue, "ingest", id)) moved++;
  for (const { id } of due) if (await enqueueIngest(queue, "refresh", id)) moved++;
  return moved;
}
