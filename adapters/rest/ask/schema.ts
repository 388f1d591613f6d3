import { z } from "zod";

// The request of POST /api/ai-hub/assistant/ask, as the AI Hub document shows it; messages as it words them.

const required = (what: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? `The ${what} is required!` : `The ${what} is invalid`),
});

export const askMessage = z.object(
  {
    id: z.string(required("message id")).min(1).max(200).optional(),
    role: z.enum(["user", "assistant", "system"], { error: 'The message role must be "user", "assistant" or "system"' }).default("user"),
    content: z
      .string(required("message content"))
      .trim()
      .min(1, "The message content is required!")
      .max(32_000, "The message content is too long (32000 characters at most)"),
    createdAt: z.iso.datetime({ offset: true, error: "The message createdAt must be an ISO 8601 timestamp" }).optional(),
  },
  required("message"),
);

export const askRequest = z.object({
  message: askMessage,
  id: z.string(required("conversation id")).min(1).max(200, "The conversation id is too long (200 characters at most)").optional(),
  assistantId: z.string(required("assistant id")).min(1, "The assistant id is required!").max(200),
  metadata: z
    .record(z.string(), z.unknown(), { error: "The metadata must be an object" })
    .refine((m) => JSON.stringify(m).length <= 16_384, "The metadata is too large (16 KiB at most)")
    // The document: "automatically lowercased keys".
    .transform((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v])))
    .optional(),
  foldersId: z.array(z.string().min(1), { error: "The foldersId must be an array of folder ids" }).max(50).optional(),
  previewAssistantData: z
    .object({
      name: z.string(required("preview assistant name")).min(1).max(200),
      description: z.string().max(2000).optional(),
      instructions: z.string().max(20_000).optional(),
      provider: z.enum(["knowledge", "openai"]).optional(),
      model: z.string().max(200).optional(),
    })
    .optional(),
});

export type AskRequest = z.infer<typeof askRequest>;
