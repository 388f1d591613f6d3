import { z } from "zod";
import { KEY_OR_CONSOLE, type Operation } from "../../../src/http/openapi";
import { createAssistant, updateAssistant } from "./assistants";
import { newDocument, newUrlDocument } from "./documents";
import { managementErrors } from "./errors";
import { folderChange, newFolder } from "./folders";
import { meResponse } from "./me";
import { searchRequest, searchResponse } from "./search";

// The management API's operations for the OpenAPI document, with the schemas its handlers parse with.

const id = z.object({ id: z.string().describe("The id (an assistant may also be named by its name)") });
const errors = managementErrors({
  413: "`payload_too_large`: past INGEST_MAX_BYTES; nothing is stored",
  415: "`invalid_message`: a type not supported; the message names those that are",
  422: "`invalid_message`: a corrupt or password-protected file, or a URL that cannot be fetched; nothing is stored",
});
const ok = (description: string, schema?: z.ZodType, status = 200): Operation["responses"] => ({ [status]: { description, schema } });

const binary = z.string().meta({ format: "binary" });
const query = z.object({
  title: z.string().optional().describe("The document's title (default: the file name, the PDF's title)"),
  fileName: z.string().optional().describe("The file's name, also used to tell its type when the Content-Type is application/octet-stream"),
});
const documentId = id.extend({ documentId: z.string() });
const documentState = z.object({
  id: z.string(),
  folderId: z.string(),
  title: z.string(),
  status: z.enum(["processing", "ready", "failed"]),
  error: z.string().nullable().describe("Why it failed, or why its last refresh did"),
  format: z.enum(["text", "markdown", "csv", "html", "pdf", "docx"]),
  fileName: z.string().nullable(),
  sourceUrl: z.string().nullable(),
  language: z.string().nullable(),
  fetchedAt: z.string().nullable().describe("When its URL was last fetched"),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const assistant = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  instructions: z.string(),
  provider: z.enum(["knowledge", "openai", "default"]).describe("`default`: the hub's ASSISTANT_PROVIDER"),
  model: z.string().nullable(),
  deployed: z.boolean(),
  folderIds: z.array(z.string()),
  suggestions: z.array(z.string()),
  handoffPhrases: z.array(z.string()),
  handoffMessage: z.string().nullable(),
  handoffAfterMisses: z.number().int().nullable(),
  vision: z.boolean().describe("The model reads images: a user's photos go to it as image parts"),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const folder = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  public: z.boolean(),
  language: z.string().nullable(),
  refreshMinutes: z.number().int().nullable(),
  createdAt: z.iso.datetime(),
});
const folderWithDocuments = folder.extend({
  documents: z.array(
    documentState
      .pick({ id: true, title: true, status: true, error: true, format: true, sourceUrl: true, createdAt: true })
      .extend({ passages: z.number().int() }),
  ),
});
const textDocument = z.object({
  id: z.string(),
  title: z.string(),
  folderId: z.string(),
  status: z.literal("ready"),
  passages: z.number().int(),
});

const assistants = "Management: assistants";
const folders = "Management: knowledge folders";
export const managementOperations: Operation[] = [
  {
    tag: "Management: keys",
    method: "get",
    path: "/api/me",
    operationId: "getMe",
    summary: "The org (org_id) and key behind the API key",
    responses: { 200: { description: "Who you are", schema: meResponse }, ...errors(401) },
  },
  {
    tag: assistants,
    method: "get",
    path: "/api/assistants",
    operationId: "listAssistants",
    auth: KEY_OR_CONSOLE,
    summary: "List the org's assistants",
    responses: { ...ok("The org's assistants, oldest first", z.object({ assistants: z.array(assistant) })), ...errors(401, 403) },
  },
  {
    tag: assistants,
    method: "post",
    path: "/api/assistants",
    operationId: "createAssistant",
    auth: KEY_OR_CONSOLE,
    summary: "Create an assistant",
    body: createAssistant,
    responses: { ...ok("The assistant", assistant, 201), ...errors(400, 401, 403, 409) },
  },
  {
    tag: assistants,
    method: "get",
    path: "/api/assistants/{id}",
    operationId: "getAssistant",
    auth: KEY_OR_CONSOLE,
    summary: "One assistant",
    pathParams: id,
    responses: { ...ok("The assistant", assistant), ...errors(401, 403, 404) },
  },
  ...(["patch", "put"] as const).map(
    (method): Operation => ({
      tag: assistants,
      method,
      path: "/api/assistants/{id}",
      operationId: method === "patch" ? "updateAssistant" : "putAssistant",
      auth: KEY_OR_CONSOLE,
      summary: "Change an assistant (the fields given)",
      pathParams: id,
      body: updateAssistant,
      responses: { ...ok("The assistant", assistant), ...errors(400, 401, 403, 404, 409) },
    }),
  ),
  {
    tag: folders,
    method: "get",
    path: "/api/folders",
    operationId: "listFolders",
    auth: KEY_OR_CONSOLE,
    summary: "List the org's knowledge folders",
    responses: {
      ...ok(
        "The org's folders, oldest first, each with its number of documents",
        z.object({ folders: z.array(folder.extend({ documents: z.number().int() })) }),
      ),
      ...errors(401),
    },
  },
  {
    tag: folders,
    method: "post",
    path: "/api/folders",
    operationId: "createFolder",
    auth: KEY_OR_CONSOLE,
    summary: "Create a folder",
    body: newFolder,
    responses: { ...ok("The folder", folder, 201), ...errors(400, 401, 403) },
  },
  {
    tag: folders,
    method: "get",
    path: "/api/folders/{id}",
    operationId: "getFolder",
    auth: KEY_OR_CONSOLE,
    summary: "A folder and its documents",
    pathParams: id,
    responses: { ...ok("The folder and its documents, oldest first", folderWithDocuments), ...errors(401, 404) },
  },
  {
    tag: folders,
    method: "patch",
    path: "/api/folders/{id}",
    operationId: "updateFolder",
    auth: KEY_OR_CONSOLE,
    summary: "Rename a folder, mark it public or private, or set how often its web pages are fetched again",
    pathParams: id,
    body: folderChange,
    responses: { ...ok("The folder", folder), ...errors(400, 401, 403, 404) },
  },
  {
    tag: folders,
    method: "delete",
    path: "/api/folders/{id}",
    operationId: "deleteFolder",
    auth: KEY_OR_CONSOLE,
    summary: "Delete a folder",
    pathParams: id,
    responses: { ...ok("Deleted", undefined, 204), ...errors(401, 403, 404) },
  },
  {
    tag: folders,
    method: "post",
    path: "/api/folders/{id}/documents",
    operationId: "addDocument",
    auth: KEY_OR_CONSOLE,
    summary: "Add a document: text (indexed at once), or a file or web page (indexed by a worker)",
    description:
      "JSON `{ title, content }` and text/plain or text/markdown bodies (with `?title=`) are indexed in the request: 201. " +
      "A file (multipart/form-data `file` with an optional `title`, or a PDF, DOCX, HTML, CSV body) or JSON `{ url }` " +
      "is stored and indexed by the ingest worker: 202 with `status: processing`; GET the document until it is `ready` or `failed`.",
    pathParams: id,
    query,
    body: z.union([newDocument, newUrlDocument]),
    otherBodies: {
      "multipart/form-data": z.object({ file: binary, title: z.string().optional() }),
      "text/markdown": z.string(),
      "text/plain": z.string(),
      "application/pdf": binary,
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document": binary,
      "text/html": z.string(),
      "text/csv": z.string(),
    },
    responses: {
      ...ok("The text document, indexed: its number of passages", textDocument, 201),
      202: { description: "The file or page, stored and being indexed", schema: documentState },
      ...errors(400, 401, 404, 413, 415, 422),
    },
  },
  {
    tag: folders,
    method: "get",
    path: "/api/folders/{id}/documents/{documentId}",
    operationId: "getDocument",
    auth: KEY_OR_CONSOLE,
    summary: "A document's state: processing, ready (with its passage count) or failed (with the reason)",
    pathParams: documentId,
    responses: { 200: { description: "The document", schema: documentState.extend({ passages: z.number().int() }) }, ...errors(401, 404) },
  },
  {
    tag: folders,
    method: "post",
    path: "/api/folders/{id}/documents/{documentId}/refresh",
    operationId: "refreshDocument",
    auth: KEY_OR_CONSOLE,
    summary: "Fetch a URL document again; indexed again only if its text changed",
    description: "A document not added from a URL is refused with 409. A failed URL document is fetched and indexed afresh.",
    pathParams: documentId,
    responses: { 202: { description: "The document, its refresh queued", schema: documentState }, ...errors(401, 404, 409) },
  },
  {
    tag: folders,
    method: "delete",
    path: "/api/folders/{id}/documents/{documentId}",
    operationId: "deleteDocument",
    auth: KEY_OR_CONSOLE,
    summary: "Delete a document",
    pathParams: documentId,
    responses: { ...ok("Deleted", undefined, 204), ...errors(401, 403, 404) },
  },
  {
    tag: folders,
    method: "post",
    path: "/api/knowledge/search",
    operationId: "searchKnowledge",
    auth: KEY_OR_CONSOLE,
    summary: "The passages a question finds in the org's folders, best first (the console's \"try it\")",
    body: searchRequest,
    responses: { ...ok("The passages, best first; none when nothing is relevant", searchResponse), ...errors(400, 401) },
  },
];
