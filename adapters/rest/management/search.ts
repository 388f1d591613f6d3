import { Router } from "express";
import { z } from "zod";
import type { Db } from "../../../src/db/database";
import { fieldIssues, invalid } from "../../../src/errors";
import { caller } from "../../../src/http/auth";
import type { KnowledgeIndex } from "../../../src/knowledge/index";

// POST /api/knowledge/search: the passages a question finds in the org's folders, as an assistant reading
// those folders would get them: what the console's "try it" box shows, and how to check a folder teaches
// what it should before an assistant uses it.

export const searchRequest = z.strictObject({
  query: z.string().trim().min(1).max(2000).describe("A question, as a user would ask it"),
  folderIds: z.array(z.uuid()).min(1).max(50).optional().describe("The folders to search (default: all of the org's)"),
  limit: z.number().int().min(1).max(20).optional().describe("How many passages at most (default 4, as an assistant gets)"),
});

export const searchResponse = z.object({
  passages: z.array(
    z.object({
      documentId: z.string(),
      documentTitle: z.string(),
      content: z.string(),
      heading: z.string().nullable(),
      page: z.number().int().nullable(),
      anchor: z.string().nullable(),
      sourceUrl: z.string().nullable(),
      rank: z.number().describe("How well it matches: comparable only within one answer"),
    }),
  ),
});

export function searchRoutes(prisma: Db, knowledge: KnowledgeIndex): Router {
  const router = Router();
  router.post("/api/knowledge/search", async (req, res) => {
    const parsed = searchRequest.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid("Invalid search", fieldIssues(parsed.error.issues));
    const { query, folderIds, limit } = parsed.data;
    const { orgId } = caller(res);
    // Another org's folder is refused as an unknown one, not searched as empty: the caller learns of the mistake.
    if (folderIds && (await prisma.folder.count({ where: { orgId, id: { in: folderIds } } })) !== new Set(folderIds).size)
      throw invalid("Invalid search", [{ field: "folderIds", message: "Unknown folder" }]);
    const out: z.output<typeof searchResponse> = { passages: await knowledge.search({ orgId, folderIds }, query, limit) };
    res.json(out);
  });
  return router;
}
