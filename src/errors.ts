// One small hierarchy of errors the core raises; each API surface renders them in its own document's
// dialect, in one place per surface.

export type ErrorCode =
  | "invalid_message"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "assistant_not_found"
  | "rate_limited"
  | "payload_too_large"
  | "conflict"
  | "unavailable"
  /** A free-form message the channel can no longer deliver (WhatsApp, 24 hours after the user last wrote). */
  | "outside_window";

export interface FieldIssue {
  field: string;
  message: string;
}

export class HubError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: { issues?: FieldIssue[]; retryAfter?: number; assistantId?: string; messageId?: string } = {},
  ) {
    super(message);
    this.name = "HubError";
  }
}

export const invalid = (message: string, issues: FieldIssue[] = []) => new HubError(400, "invalid_message", message, { issues });
export const unauthorized = (message = "Authentication required") => new HubError(401, "unauthorized", message);
export const notFound = (what: string) => new HubError(404, "not_found", `${what} not found`);

/** zod issues as the field/message pairs the APIs report. */
export function fieldIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldIssue[] {
  return issues.map((i) => ({ field: i.path.map(String).join(".") || "body", message: i.message }));
}
