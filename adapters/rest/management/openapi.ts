import { z } from "zod";
import type { Operation } from "../../../src/http/openapi";
import { createAssistant, updateAssistant } from "./assistants";
import { managementError } from "./errors";
import { folderChange, newDocument, newFolder } from "./folders";
import { meResponse } from "./me";

// The management API's operations for the OpenAPI document, with the schemas its handlers parse with.

const id = z.object({ id: z.string().describe("The id (an assistant may also be named by its name)") });
const errors = (...statuses: number[]): Operation["responses"] =>
  Object.fromEntries(statuses.map((s) => [s, { description: TEXT[s], schema: managementError }]));
const TEXT: Record<number, string> = { 400: "`invalid_message`", 401: "`unauthorized`", 404: "`not_found`", 409: "`conflict`" };
const ok = (description: string, status = 200): Operation["responses"] => ({ [status]: { description } });

const assistants = "Management: assistants";
const folders = "Management: knowledge folders";
export const managementOperations: Operation[] = [
  {
    tag: "Management: keys",
    method: "get",
    path: "/api/me",
    summary: "The org (org_id) and key behind the API key",
    responses: { 200: { description: "Who you are", schema: meResponse }, ...errors(401) },
  },
  {
    tag: assistants,
    method: "get",
    path: "/api/assistants",
    summary: "List the org's assistants",
    responses: { ...ok("`{ assistants }`"), ...errors(401) },
  },
  {
    tag: assistants,
    method: "post",
    path: "/api/assistants",
    summary: "Create an assistant",
    body: createAssistant,
    responses: { ...ok("The assistant", 201), ...errors(400, 401, 409) },
  },
  {
    tag: assistants,
    method: "get",
    path: "/api/assistants/{id}",
    summary: "One assistant",
    pathParams: id,
    responses: { ...ok("The assistant"), ...errors(401, 404) },
  },
  ...(["patch", "put"] as const).map(
    (method): Operation => ({
      tag: assistants,
      method,
      path: "/api/assistants/{id}",
      summary: "Change an assistant (the fields given)",
      pathParams: id,
      body: updateAssistant,
      responses: { ...ok("The assistant"), ...errors(400, 401, 404, 409) },
    }),
  ),
  {
    tag: folders,
    method: "get",
    path: "/api/folders",
    summary: "List the org's knowledge folders",
    responses: { ...ok("`{ folders }`"), ...errors(401) },
  },
  {
    tag: folders,
    method: "post",
    path: "/api/folders",
    summary: "Create a folder",
    body: newFolder,
    responses: { ...ok("The folder", 201), ...errors(400, 401) },
  },
  {
    tag: folders,
    method: "get",
    path: "/api/folders/{id}",
    summary: "A folder and its documents",
    pathParams: id,
    responses: { ...ok("The folder"), ...errors(401, 404) },
  },
  {
    tag: folders,
    method: "patch",
    path: "/api/folders/{id}",
    summary: "Rename a folder, or mark it public or private",
    pathParams: id,
    body: folderChange,
    responses: { ...ok("The folder"), ...errors(400, 401, 404) },
  },
  {
    tag: folders,
    method: "delete",
    path: "/api/folders/{id}",
    summary: "Delete a folder",
    pathParams: id,
    responses: { ...ok("Deleted", 204), ...errors(401, 404) },
  },
  {
    tag: folders,
    method: "post",
    path: "/api/folders/{id}/documents",
    summary: "Add a document (JSON, or a text/plain or text/markdown body with ?title=)",
    pathParams: id,
    body: newDocument,
    responses: { ...ok("The document and its passages", 201), ...errors(400, 401, 404) },
  },
  {
    tag: folders,
    method: "delete",
    path: "/api/folders/{id}/documents/{documentId}",
    summary: "Delete a document",
    pathParams: id.extend({ documentId: z.string() }),
    responses: { ...ok("Deleted", 204), ...errors(401, 404) },
  },
];
