import type { Queue } from "bullmq";
import { Router } from "express";
import { z } from "zod";
import type { Db } from "../../../src/db/database";
import { fieldIssues, invalid, notFound } from "../../../src/errors";
import { caller } from "../../../src/http/auth";
import { isLanguage } from "../../../src/knowledge/language";
import { enqueueIngest, type IngestJob } from "../../../src/queue";

// Knowledge folders of the caller's org (their documents: documents.ts). A folder is private unless marked
// `public`: see TurnOptions.fromPublic for who reads which.

export const newFolder = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  public: z
    .boolean()
    .optional()
    .describe("Readable by the public (widget visitors, WhatsApp users) through an assistant that names no folders; default false"),
  language: z
    .string()
    .refine(isLanguage, "Expected a two-letter ISO code such as `de` or `pt-BR`, or a text-search configuration such as `german`")
    .nullable()
    .optional()
    .describe("The language of the folder's documents; null or absent: detected for each document"),
  refreshMinutes: z
    .number()
    .int()
    .min(15)
    .max(525_600)
    .nullable()
    .optional()
    .describe("Fetch the folder's URL documents again this often (at least 15 minutes); null or absent: only on request"),
});
export const folderChange = newFolder.partial();

/** The org's folder, or 404 (another org's folder is not found either). */
export async function findFolder(prisma: Db, orgId: string, id: string) {
  const folder = z.uuid().safeParse(id).success ? await prisma.folder.findFirst({ where: { orgId, id } }) : null;
  if (!folder) throw notFound("Folder");
  return folder;
}

export function folderRoutes(prisma: Db, ingestQueue: Queue<IngestJob> | null): Router {
  const router = Router();
  const find = (orgId: string, id: string) => findFolder(prisma, orgId, id);

  router.get("/api/folders", async (_req, res) => {
    const rows = await prisma.folder.findMany({
      where: { orgId: caller(res).orgId },
      orderBy: { createdAt: "asc" },
      include: { _count: { select: { documents: true } } },
    });
    res.json({ folders: rows.map(({ _count, orgId: _o, ...f }) => ({ ...f, documents: _count.documents })) });
  });

  router.post("/api/folders", async (req, res) => {
    const parsed = newFolder.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid("Invalid folder", fieldIssues(parsed.error.issues));
    const { orgId: _o, ...folder } = await prisma.folder.create({ data: { ...parsed.data, orgId: caller(res).orgId } });
    res.status(201).json(folder);
  });

  router.patch("/api/folders/:id", async (req, res) => {
    const folder = await find(caller(res).orgId, String(req.params.id));
    const parsed = folderChange.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid("Invalid folder", fieldIssues(parsed.error.issues));
    const relanguaged = parsed.data.language !== undefined && parsed.data.language !== folder.language;
    // A new language takes its documents back to processing in the same transaction: the ingest worker indexes
    // each again (its old passages stay searchable until then), and the sweeper finds any whose job is lost.
    const change = prisma.folder.update({ where: { id: folder.id }, data: parsed.data });
    const reindex = prisma.document.updateMany({
      where: { folderId: folder.id, status: "ready" },
      data: { status: "processing", attempts: 0, updatedAt: new Date() },
    });
    const [{ orgId: _o, ...updated }] = relanguaged ? await prisma.$transaction([change, reindex]) : [await change];
    if (relanguaged && ingestQueue) {
      const documents = await prisma.document.findMany({ where: { folderId: folder.id, status: "processing" }, select: { id: true } });
      await Promise.all(documents.map((d) => enqueueIngest(ingestQueue, "ingest", d.id))).catch(() => {});
    }
    res.json(updated);
  });

  router.get("/api/folders/:id", async (req, res) => {
    const { orgId: _o, ...folder } = await find(caller(res).orgId, String(req.params.id));
    const documents = await prisma.document.findMany({
      where: { folderId: folder.id },
      orderBy: { createdAt: "asc" },
      select: {
        id: true,
        title: true,
        status: true,
        error: true,
        format: true,
        sourceUrl: true,
        createdAt: true,
        _count: { select: { passages: true } },
      },
    });
    res.json({ ...folder, documents: documents.map(({ _count, ...d }) => ({ ...d, passages: _count.passages })) });
  });

  router.delete("/api/folders/:id", async (req, res) => {
    const { orgId } = caller(res);
    const folder = await find(orgId, String(req.params.id));
    // Assistants stop pointing at it in the same transaction, so none searches a folder that is gone.
    await prisma.$transaction([
      prisma.$executeRaw`UPDATE assistants SET folder_ids = array_remove(folder_ids, ${folder.id}) WHERE org_id = ${orgId}::uuid`,
      prisma.folder.delete({ where: { id: folder.id } }),
    ]);
    res.status(204).end();
  });

  return router;
}
