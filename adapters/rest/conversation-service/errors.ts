import type { z } from "zod";
import { fieldIssues, type HubError, invalid } from "../../../src/errors";
import type { Render } from "../../../src/http/body";
import type { errorResponse } from "./schema";

/** The service's errors: the status of its table, `{ detail }` saying why (and `issues` for bad input). */
export const renderConversationServiceError: Render = (err: HubError) => {
  const body: z.output<typeof errorResponse> = {
    detail: err.message,
    ...(err.details.issues?.length ? { issues: err.details.issues } : {}),
  };
  return { status: err.code === "assistant_not_found" ? 404 : err.status, body };
};

/** The request part `input` as `schema` reads it, or a 400 naming each bad field. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw invalid("Bad Request: invalid input", fieldIssues(parsed.error.issues));
  return parsed.data;
}
