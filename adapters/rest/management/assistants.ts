import { type Request, type Response, Router } from "express";
import { z } from "zod";
import { type AssistantLookup, isUuid } from "../../../src/assistants/store";
import type { Db } from "../../../src/db/database";
import { fieldIssues, invalid, notFound } from "../../../src/errors";
import type { Assistant } from "../../../src/generated/prisma/client";
import { caller } from "../../../src/http/auth";

// Assistants of the caller's org: GET/POST /api/assistants, GET/PATCH/PUT /api/assistants/:id (id or name).

const fields = {
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[^/]*$/, "must not contain '/'"),
  description: z.string().max(2000),
  instructions: z.string().max(20_000),
  provider: z.enum(["knowledge", "openai"]).nullable(),
  model: z.string().max(200).nullable(),
  deployed: z.boolean(),
  folderIds: z.array(z.uuid()).max(50),
  suggestions: z.array(z.string().trim().min(1).max(200)).max(10),
  handoffPhrases: z
    .array(z.string().trim().min(1).max(200))
    .max(100)
    .describe(
      "What a user says to ask for a person, matched ignoring case, accents and punctuation (empty: the hub's, in several languages)",
    ),
  handoffMessage: z.string().trim().min(1).max(2000).nullable().describe("What the user is told at a handoff (null: HANDOFF_MESSAGE)"),
  handoffAfterMisses: z
    .number()
    .int()
    .min(0)
    .max(100)
    .nullable()
    .describe("Hand off after this many answers in a row without relevant knowledge (0: never; null: HANDOFF_AFTER_MISSES)"),
  vision: z
    .boolean()
    .describe("Its model reads images: a user's WhatsApp photos are passed to it (else it reads their caption, and the user is told)"),
};
export const createAssistant = z
  .strictObject({ ...fields, name: fields.name })
  .partial()
  .required({ name: true });
export const updateAssistant = z.strictObject(fields).partial();

export function view(a: Assistant) {
  const { orgId: _org, ...rest } = a;
  return { ...rest, provider: a.provider ?? "default" };
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw invalid("Invalid assistant", fieldIssues(parsed.error.issues));
  return parsed.data;
}

async function checkFolders(prisma: Db, orgId: string, ids: string[] | undefined) {
  if (!ids?.length) return;
  const n = await prisma.folder.count({ where: { orgId, id: { in: ids } } });
  if (n !== new Set(ids).size) throw invalid("Invalid assistant", [{ field: "folderIds", message: "Unknown folder" }]);
}

async function find(prisma: Db, orgId: string, ref: string) {
  const found = await prisma.assistant.findFirst({ where: isUuid(ref) ? { orgId, id: ref } : { orgId, name: ref } });
  if (!found) throw notFound("Assistant");
  return found;
}

export function assistantRoutes(prisma: Db, lookup: AssistantLookup): Router {
  const router = Router();
  router.get("/api/assistants", async (_req, res) => {
    const rows = await prisma.assistant.findMany({ where: { orgId: caller(res).orgId }, orderBy: { createdAt: "asc" } });
    res.json({ assistants: rows.map(view) });
  });
  router.post("/api/assistants", async (req, res) => {
    const { orgId } = caller(res);
    const data = parse(createAssistant, req.body);
    await checkFolders(prisma, orgId, data.folderIds);
    const created = await prisma.assistant.create({ data: { ...data, orgId } });
    lookup.forget(orgId);
    res.status(201).json(view(created));
  });
  router.get("/api/assistants/:id", async (req, res) => res.json(view(await find(prisma, caller(res).orgId, String(req.params.id)))));
  const update = async (req: Request, res: Response) => {
    const { orgId } = caller(res);
    const current = await find(prisma, orgId, String(req.params.id));
    const data = parse(updateAssistant, req.body);
    await checkFolders(prisma, orgId, data.folderIds);
    const updated = await prisma.assistant.update({ where: { id: current.id }, data });
    lookup.forget(orgId);
    res.json(view(updated));
  };
  router.patch("/api/assistants/:id", update);
  router.put("/api/assistants/:id", update);
  return router;
}
