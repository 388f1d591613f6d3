import { z } from "zod";

/** How the APIs that carry a reply's citations describe them (the Citation type, src/types.ts). */
export const citationList = z
  .array(
    z.object({
      documentId: z.string(),
      title: z.string(),
      heading: z.string().nullable(),
      page: z.number().int().nullable(),
      url: z.string().nullable().describe("The source page, at the passage's section; null for an uploaded file"),
    }),
  )
  .describe("The knowledge passages an assistant reply drew on; empty for other messages");
