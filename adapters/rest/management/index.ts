import { Router } from "express";
import type { AssistantLookup } from "../../../src/assistants/store";
import type { KeyRing } from "../../../src/auth/keys";
import type { Db } from "../../../src/db/database";
import { requireKey } from "../../../src/http/auth";
import { errorHandler, jsonBody } from "../../../src/http/body";
import type { KnowledgeIndex } from "../../../src/knowledge/index";
import type { IngestDeps } from "../../../src/knowledge/ingest";
import type { Logger } from "../../../src/logger";
import { assistantRoutes } from "./assistants";
import { documentRoutes } from "./documents";
import { renderManagementError } from "./errors";
import { folderRoutes } from "./folders";
import { meRoutes } from "./me";

const PATHS = ["/api/assistants", "/api/folders", "/api/me"];

/** The management API: an org's assistants and knowledge folders, and who a key is, behind its API keys. */
export function createManagementApi(deps: {
  prisma: Db;
  keys: KeyRing;
  knowledge: KnowledgeIndex;
  ingest: IngestDeps;
  /** INGEST_MAX_BYTES: the largest file a folder takes. */
  maxUploadBytes: number;
  assistants: AssistantLookup;
  logger: Logger;
}): Router {
  const api = Router();
  api.use(PATHS, ...jsonBody("2mb"), requireKey(deps.keys));
  api.use(assistantRoutes(deps.prisma, deps.assistants));
  api.use(folderRoutes(deps.prisma));
  api.use(documentRoutes(deps));
  api.use(meRoutes(deps.prisma));
  api.use(
    PATHS,
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "management API failed")),
  );
  return api;
}
