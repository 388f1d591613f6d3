import express, { type Request, Router } from "express";
import { z } from "zod";
import type { Db } from "../../../src/db/database";
import { fieldIssues, HubError, invalid, notFound } from "../../../src/errors";
import { caller } from "../../../src/http/auth";
import { formatOf, mediaType, unsupportedType } from "../../../src/knowledge/formats";
import type { KnowledgeIndex } from "../../../src/knowledge/index";
import { acceptFile, acceptUrl, documentFields, type IngestDeps, requestRefresh } from "../../../src/knowledge/ingest";
import { findFolder } from "./folders";
import { readMultipart, titleOf, tooLarge, type Upload } from "./uploads";

// A folder's documents. JSON `{ title, content }` and text/plain or text/markdown bodies (with ?title=) are
// indexed in the request (201). Files (multipart/form-data `file`, or a PDF, DOCX, HTML or CSV body) and
// JSON `{ url }` are stored and indexed by the ingest worker (202, status `processing`; GET the document
// until it is `ready` or `failed`). Refreshing a document that was not added from a URL is a 409.

export const newDocument = z.object({
  title: z.string().trim().min(1, "The title is required").max(300),
  content: z.string().trim().min(1, "The content is required").max(2_000_000),
});
export const newUrlDocument = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: "An http or https URL" })
    .max(2000)
    .describe("A web page, or a file on the web, to fetch"),
  title: z.string().trim().min(1).max(300).optional().describe("Default: the page's <title>, the PDF's title, or the URL"),
});

const TEXT_TYPES = ["text/plain", "text/markdown", "text/x-markdown"];
const MAX_TEXT = "2mb";

export interface DocumentDeps {
  prisma: Db;
  knowledge: KnowledgeIndex;
  ingest: IngestDeps;
  maxUploadBytes: number;
}

const isTextOrJson = (req: Request) => TEXT_TYPES.includes(mediaType(req.headers["content-type"])) || Boolean(req.is("json"));

export function documentRoutes(deps: DocumentDeps): Router {
  const { prisma, knowledge, ingest, maxUploadBytes } = deps;
  const router = Router();
  const raw = express.raw({ type: () => true, limit: maxUploadBytes });
  /** The body up to the limit; past it, body-parser drains the rest so that the client reads the 413. */
  const readRaw = (req: Request, res: express.Response) =>
    new Promise<void>((resolve, reject) =>
      raw(req, res, (err?: unknown) =>
        err ? reject((err as { type?: string }).type === "entity.too.large" ? tooLarge(maxUploadBytes) : err) : resolve(),
      ),
    );
  const findDocument = async (req: Request, res: express.Response) => {
    const folder = await findFolder(prisma, caller(res).orgId, String(req.params.id));
    const id = String(req.params.documentId);
    const doc = z.uuid().safeParse(id).success
      ? await prisma.document.findFirst({ where: { folderId: folder.id, id }, select: documentFields })
      : null;
    if (!doc) throw notFound("Document");
    return doc;
  };

  router.post("/api/folders/:id/documents", async (req, res, next) => {
    const folder = await findFolder(prisma, caller(res).orgId, String(req.params.id));
    const type = mediaType(req.headers["content-type"]);
    if (type === "multipart/form-data") {
      const upload = await readMultipart(req, maxUploadBytes);
      return void res.status(202).json(await acceptFile(ingest, folder.id, upload));
    }
    if (req.is("json") && req.body && typeof req.body === "object" && "url" in req.body) {
      const parsed = newUrlDocument.safeParse(req.body);
      if (!parsed.success) throw invalid("Invalid document", fieldIssues(parsed.error.issues));
      return void res.status(202).json(await acceptUrl(ingest, folder.id, parsed.data.url, parsed.data.title));
    }
    if (isTextOrJson(req)) return next();
    const fileName = typeof req.query.fileName === "string" ? req.query.fileName : undefined;
    // Refused before the body is read: the client learns at once, and no bandwidth is spent on it.
    if (!formatOf(type, fileName)) throw unsupportedType(type);
    await readRaw(req, res);
    if (!Buffer.isBuffer(req.body) || !req.body.length)
      throw invalid("Invalid document", [{ field: "body", message: "The body is empty" }]);
    const upload: Upload = { bytes: req.body, contentType: req.headers["content-type"] ?? "", fileName, title: titleOf(req.query.title) };
    res.status(202).json(await acceptFile(ingest, folder.id, upload));
  });

  router.post("/api/folders/:id/documents", express.text({ type: TEXT_TYPES, limit: MAX_TEXT }), async (req, res) => {
    const folder = await findFolder(prisma, caller(res).orgId, String(req.params.id));
    const raw = typeof req.body === "string";
    const parsed = newDocument.safeParse(raw ? { title: req.query.title, content: req.body } : (req.body ?? {}));
    if (!parsed.success) throw invalid("Invalid document", fieldIssues(parsed.error.issues));
    const doc = await knowledge.addDocument(folder.id, parsed.data.title, parsed.data.content);
    res.status(201).json({ ...doc, folderId: folder.id, status: "ready" });
  });

  router.get("/api/folders/:id/documents/:documentId", async (req, res) => {
    const doc = await findDocument(req, res);
    res.json({ ...doc, passages: await prisma.passage.count({ where: { documentId: doc.id } }) });
  });

  router.post("/api/folders/:id/documents/:documentId/refresh", async (req, res) => {
    const doc = await findDocument(req, res);
    if (!doc.sourceUrl) throw new HubError(409, "conflict", "Only a document added from a URL can be refreshed: upload the file again");
    await requestRefresh(ingest, doc);
    res.status(202).json(await findDocument(req, res));
  });

  router.delete("/api/folders/:id/documents/:documentId", async (req, res) => {
    const doc = await findDocument(req, res);
    const { count } = await prisma.document.deleteMany({ where: { folderId: doc.folderId, id: doc.id } });
    if (!count) throw notFound("Document");
    res.status(204).end();
  });
  return router;
}
