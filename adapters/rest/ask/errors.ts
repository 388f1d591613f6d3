import type { HubError } from "../../../src/errors";
import type { Render } from "../../../src/http/body";

export const UNAVAILABLE =
  "Service temporarily unavailable: your message was saved and will be answered; ask again with the same message.id to get the reply";

/** The AI Hub document's three error shapes, and the same `success`/`error` dialect for the rest. */
export const renderAskError: Render = (err: HubError) => {
  switch (err.code) {
    case "invalid_message":
      return {
        status: err.status,
        body: {
          success: false,
          error: "Message parse problem from ask assistant",
          issues: err.details.issues?.length ? err.details.issues : [{ field: "body", message: err.message }],
        },
      };
    case "rate_limited":
      return { status: 429, body: { success: false, error: "Rate limit exceeded", retry_after: err.details.retryAfter } };
    case "assistant_not_found":
      return { status: 404, body: { success: false, error: "Assistant not found or not deployed", assistant_id: err.details.assistantId } };
    case "unavailable":
      return {
        status: 503,
        body: { success: false, error: err.message, retry_after: err.details.retryAfter, message_id: err.details.messageId },
      };
    default:
      return { status: err.status, body: { success: false, error: err.message } };
  }
};
