import { z } from "zod";
import { OPERATOR_ROLES, operatorEmail, operatorPassword } from "../../../src/auth/operators";
import { managementError } from "../../../src/http/management-error";
import type { Operation } from "../../../src/http/openapi";

// The console API's request and response shapes, and its operations for the OpenAPI document.

export const loginBody = z.strictObject({
  email: z.string().trim().min(1).max(254).describe("The operator's email"),
  password: z.string().min(1).max(200),
});

export const newOperatorBody = z.strictObject({
  email: operatorEmail.describe("Unique across the hub: it alone names the operator's org at login"),
  password: operatorPassword,
  role: z.enum(OPERATOR_ROLES).describe("`admin` also manages the org's operators; `agent` works the inbox"),
});

export const operatorView = z.object({
  id: z.string(),
  orgId: z.string(),
  email: z.string(),
  role: z.enum(OPERATOR_ROLES),
  createdAt: z.string().optional(),
});

export const transcriptMessage = z.object({
  id: z.string(),
  role: z.string().describe("`user`, `assistant` (the assistant or an operator, see author) or `system`"),
  content: z.string(),
  status: z
    .string()
    .describe(
      "A user's message: pending, answered, held (written while a person had it), failed. The business's: sent (push channels), " +
        "or queued, then the provider's sent, delivered, read, failed (Twilio)",
    ),
  author: z.object({ kind: z.enum(["user", "assistant", "operator", "system"]), name: z.string().optional() }),
  sources: z.array(
    z.object({ title: z.string().optional(), heading: z.string().nullable().optional(), url: z.string().nullable().optional() }),
  ),
  error: z.string().nullable(),
  createdAt: z.string(),
});

export const transcript = z.object({
  conversation: z.object({
    id: z.string(),
    externalId: z.string(),
    channel: z.string(),
    state: z.enum(["bot", "waiting", "human"]),
    waitingSince: z.string().nullable(),
    assignee: z.string().nullable(),
    reason: z.string().nullable(),
    summary: z.string().nullable(),
  }),
  messages: z.array(transcriptMessage).describe("The latest 200 messages, oldest first"),
});

const tag = "Console";
const errors = (...statuses: number[]): Operation["responses"] =>
  Object.fromEntries(statuses.map((s) => [s, { description: TEXT[s], schema: managementError }]));
const TEXT: Record<number, string> = {
  400: "`invalid_message`",
  401: "`unauthorized`: not signed in (or, for login, a wrong email or password: the same answer for both)",
  403: "`forbidden`: a cross-site request (its Origin is not the hub's), or an agent where an admin is needed",
  404: "`not_found`: nothing of that id in the operator's org",
  409: "`conflict`",
  429: "`rate_limited`: too many login attempts for the email or from the address",
};
const cookieAuth =
  "The console's session cookie (`hub_console`, from login); a request that changes state also needs the hub's own Origin.";

export const consoleOperations: Operation[] = [
  {
    tag,
    method: "post",
    path: "/api/console/login",
    operationId: "consoleLogin",
    summary: "Sign an operator in: sets the session cookie",
    description:
      "Sets `hub_console` (httpOnly, SameSite=Strict, Path=/, Secure behind https), valid until CONSOLE_SESSION_HOURS pass unused. " +
      "Attempts are limited a minute per email and per address.",
    auth: false,
    body: loginBody,
    responses: { 200: { description: "Signed in", schema: z.object({ operator: operatorView }) }, ...errors(400, 401, 403, 429) },
  },
  {
    tag,
    method: "post",
    path: "/api/console/logout",
    operationId: "consoleLogout",
    summary: "End the session and clear its cookie",
    description: cookieAuth,
    auth: false,
    responses: { 204: { description: "Signed out" }, ...errors(401, 403) },
  },
  {
    tag,
    method: "get",
    path: "/api/console/me",
    operationId: "consoleMe",
    summary: "The signed-in operator",
    description: cookieAuth,
    auth: false,
    responses: { 200: { description: "The operator", schema: z.object({ operator: operatorView }) }, ...errors(401) },
  },
  {
    tag,
    method: "get",
    path: "/api/console/operators",
    operationId: "consoleListOperators",
    summary: "The org's operators (admins only)",
    description: cookieAuth,
    auth: false,
    responses: { 200: { description: "The operators", schema: z.object({ operators: z.array(operatorView) }) }, ...errors(401, 403) },
  },
  {
    tag,
    method: "post",
    path: "/api/console/operators",
    operationId: "consoleAddOperator",
    summary: "Add an operator to the org (admins only)",
    description: cookieAuth,
    auth: false,
    body: newOperatorBody,
    responses: { 201: { description: "Added", schema: operatorView }, ...errors(400, 401, 403, 409) },
  },
  {
    tag,
    method: "delete",
    path: "/api/console/operators/{operatorId}",
    operationId: "consoleRemoveOperator",
    summary: "Remove an operator of the org, and end their sessions (admins only; not oneself)",
    description: cookieAuth,
    auth: false,
    pathParams: z.object({ operatorId: z.string() }),
    responses: { 204: { description: "Removed" }, ...errors(401, 403, 404, 409) },
  },
  {
    tag,
    method: "get",
    path: "/api/console/conversations/{conversationId}",
    operationId: "consoleConversation",
    summary: "A conversation and its transcript: who wrote each message, its delivery status and the passages it drew on",
    description: `${cookieAuth} An API key works too.`,
    pathParams: z.object({ conversationId: z.string().describe("The conversation's id, or the id its channel knows it by") }),
    responses: { 200: { description: "The transcript", schema: transcript }, ...errors(401, 404) },
  },
];
