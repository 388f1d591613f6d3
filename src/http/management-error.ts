import { z } from "zod";
import type { HubError } from "../errors";
import type { Render } from "./body";
import { errorResponses } from "./openapi";

export const managementError = z.object({
  error: z.string().describe("The General Bots table's codes: invalid_message, unauthorized, forbidden, not_found, rate_limited"),
  message: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  retry_after: z.number().optional(),
});

/** The management API's errors: the General Bots table's codes, `{ error, message, issues? }`. */
export const renderManagementError: Render = (err: HubError) => {
  const body: z.output<typeof managementError> = {
    error: err.code === "assistant_not_found" ? "not_found" : err.code,
    message: err.message,
    ...(err.details.issues?.length ? { issues: err.details.issues } : {}),
    ...(err.details.retryAfter ? { retry_after: err.details.retryAfter } : {}),
  };
  return { status: err.status, body };
};

/** The OpenAPI error responses of the APIs in this style, `errors(400, 401)`: each API words its own statuses. */
export const managementErrors = (descriptions: Record<number, string> = {}) =>
  errorResponses(managementError, {
    400: "`invalid_message`",
    401: "`unauthorized`",
    403: "`forbidden`: with the console's cookie, an agent where only an admin may act, or a cross-site request",
    404: "`not_found`",
    409: "`conflict`",
    ...descriptions,
  });
