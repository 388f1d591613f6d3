import { HubError } from "../../errors";

/** What an upload's Content-Type (or, failing that, its file name) may name. */
export const SUPPORTED_TYPES = [
  "application/pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "text/html",
  "text/markdown",
  "text/plain",
  "text/csv",
] as const;

export const unsupportedType = (given: string) =>
  new HubError(415, "invalid_message", `Unsupported document type ${given || "(none)"}: send one of ${SUPPORTED_TYPES.join(", ")}`);

/** The document cannot be read: corrupt, password-protected, empty, or its URL unreachable. */
export const unprocessable = (reason: string) => new HubError(422, "invalid_message", reason);

/**
 * A URL that did not answer now (a 5xx, 408 or 429, a timeout, a dropped connection): the caller who asked
 * still gets a 422, but a job fetching it in the background tries again later.
 */
export class PageUnavailable extends HubError {
  constructor(reason: string) {
    super(422, "invalid_message", reason);
  }
}
