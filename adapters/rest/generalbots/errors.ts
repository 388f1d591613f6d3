import type { z } from "zod";
import type { ErrorCode, HubError } from "../../../src/errors";
import type { Render } from "../../../src/http/body";
import type { errorResponse } from "./schema";

// The document's error table: 400 invalid_message, 401 unauthorized, 403 forbidden, 404 not_found,
// 429 rate_limited. The core's other codes are folded into the nearest of them.
const CODES: Partial<Record<ErrorCode, string>> = { assistant_not_found: "not_found", payload_too_large: "invalid_message" };

export const renderGeneralBotsError: Render = (err: HubError) => {
  const body: z.output<typeof errorResponse> = {
    error: CODES[err.code] ?? err.code,
    message: err.message,
    ...(err.details.issues?.length ? { issues: err.details.issues } : {}),
    ...(err.details.retryAfter ? { retry_after: err.details.retryAfter } : {}),
  };
  return { status: err.status, body };
};
