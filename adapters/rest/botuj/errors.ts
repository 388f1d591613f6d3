import type { z } from "zod";
import type { HubError } from "../../../src/errors";
import type { Render } from "../../../src/http/body";
import type { errorResponse } from "./schema";

/** The document names only "conventional HTTP response codes": the status, and `{ error }` saying why. */
export const renderBotujError: Render = (err: HubError) => {
  const body: z.output<typeof errorResponse> = {
    error: err.message,
    ...(err.details.issues?.length ? { issues: err.details.issues } : {}),
  };
  return { status: err.status, body };
};
