import type { Db } from "../../src/db/database";
import type { KnowledgeIndex } from "../../src/knowledge";
import { acceptFile, ingestDocument } from "../../src/knowledge/ingest";
import { createLogger } from "../../src/logger";
import type { CorpusFile } from "./corpus";

// How the retrieval bench puts a corpus file into a folder: as `npm run cli` imports a file, the upload
// checked and stored, then parsed and indexed as the ingest worker does (no queue: it is indexed at once).

/** One corpus file into the folder; returns the document's id. Throws if it did not end ready. */
export async function loadDocument(prisma: Db, index: KnowledgeIndex, folderId: string, file: CorpusFile): Promise<string> {
  const deps = {
    prisma,
    knowledge: index,
    queue: null,
    // Files only: nothing is fetched.
    fetch: { allowPrivate: false, maxBytes: 0, timeoutMs: 0 },
    logger: createLogger("silent"),
  };
  const doc = await acceptFile(deps, folderId, { bytes: Buffer.from(file.bytes), contentType: file.contentType, fileName: file.fileName });
  await ingestDocument(deps, doc.id, true);
  const stored = await prisma.document.findUniqueOrThrow({ where: { id: doc.id }, select: { status: true, error: true } });
  if (stored.status !== "ready") throw new Error(`${file.fileName} was not indexed: ${stored.error}`);
  return doc.id;
}
