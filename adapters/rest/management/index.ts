import { Router } from "express";
import type { AssistantLookup } from "../../../src/assistants/store";
import type { KeyRing } from "../../../src/auth/keys";
import type { OperatorSessions } from "../../../src/auth/operators";
import type { Db } from "../../../src/db/database";
import { adminOnly, requireKey, requireKeyOrOperator } from "../../../src/http/auth";
import { errorHandler, jsonBody } from "../../../src/http/body";
import type { KnowledgeIndex } from "../../../src/knowledge/index";
import type { IngestDeps } from "../../../src/knowledge/ingest";
import type { Logger } from "../../../src/logger";
import { assistantRoutes } from "./assistants";
import { documentRoutes } from "./documents";
import { renderManagementError } from "./errors";
import { folderRoutes } from "./folders";
import { meRoutes } from "./me";
import { searchRoutes } from "./search";

/** What the console uses too: an API key or an operator's session cookie (in the operator's org). */
const SHARED = ["/api/assistants", "/api/folders", "/api/knowledge"];
const PATHS = [...SHARED, "/api/me"];

/**
 * The management API: an org's assistants and knowledge folders behind its API keys or the console's
 * cookie, and who a key is. An agent may read the knowledge, add and re-sync documents and try a search:
 * teaching the assistant what a conversation showed it lacked is inbox work. Reshaping it (folders, deleting
 * documents) and the assistants are an admin's, as every assistant's answers change with them.
 */
export function createManagementApi(deps: {
  prisma: Db;
  keys: KeyRing;
  sessions: OperatorSessions;
  knowledge: KnowledgeIndex;
  ingest: IngestDeps;
  /** INGEST_MAX_BYTES: the largest file a folder takes. */
  maxUploadBytes: number;
  assistants: AssistantLookup;
  logger: Logger;
}): Router {
  const api = Router();
  api.use(PATHS, ...jsonBody("2mb"));
  api.use("/api/me", requireKey(deps.keys));
  api.use(SHARED, requireKeyOrOperator(deps.keys, deps.sessions));
  api.use("/api/assistants", adminOnly);
  api.post("/api/folders", adminOnly);
  api.patch("/api/folders/:id", adminOnly);
  api.delete(["/api/folders/:id", "/api/folders/:id/documents/:documentId"], adminOnly);
  api.use(assistantRoutes(deps.prisma, deps.assistants));
  api.use(folderRoutes(deps.prisma, deps.ingest.queue));
  api.use(documentRoutes(deps));
  api.use(searchRoutes(deps.prisma, deps.knowledge));
  api.use(meRoutes(deps.prisma));
  api.use(
    PATHS,
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "management API failed")),
  );
  return api;
}
