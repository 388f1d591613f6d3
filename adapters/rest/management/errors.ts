import type { HubError } from "../../../src/errors";
import type { Render } from "../../../src/http/body";

/** The management API's errors: the General Bots table's codes, `{ error, message, issues? }`. */
export const renderManagementError: Render = (err: HubError) => ({
  status: err.status,
  body: {
    error: err.code === "assistant_not_found" ? "not_found" : err.code,
    message: err.message,
    ...(err.details.issues?.length ? { issues: err.details.issues } : {}),
    ...(err.details.retryAfter ? { retry_after: err.details.retryAfter } : {}),
  },
});
