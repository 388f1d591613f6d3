import { Router } from "express";
import { z } from "zod";
import type { KeyRing } from "../../src/auth/keys";
import type { Db } from "../../src/db/database";
import { fieldIssues, invalid } from "../../src/errors";
import { principal, requireKey } from "../../src/http/auth";
import { errorHandler, jsonBody } from "../../src/http/body";
import { renderManagementError } from "../../src/http/management-error";
import { isPrivateAddress } from "../../src/knowledge/formats/addresses";
import type { Logger } from "../../src/logger";

// PUT /api/twilio/transcription: the org's own transcription service for its users' voice notes (src/voice.ts),
// in place of the hub's TRANSCRIBE_*: {"base_url", "model"?, "api_key"?}, or {"base_url": null} to use the
// hub's again. The key is stored like the org's end-user secret and never returned: the answer says only
// whether one is set. The hub posts audio to the URL, so an address on its own network is refused unless
// INGEST_ALLOW_PRIVATE_URLS (as for web pages; a host name is not resolved here).

const PATH = "/api/twilio/transcription";

export const transcriptionRequest = z.strictObject({
  base_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable()
    .describe("An OpenAI-compatible API's base URL (…/v1), posted to at /audio/transcriptions; null: the hub's service"),
  model: z.string().trim().min(1).max(200).optional().describe("The model named (absent: TRANSCRIBE_MODEL)"),
  api_key: z.string().min(1).max(500).optional().describe("Sent as a Bearer token to base_url only; never returned"),
});

export const transcriptionSettings = z.object({
  base_url: z.string().nullable(),
  model: z.string().nullable(),
  api_key_set: z.boolean(),
});

export function twilioTranscriptionApi(deps: { prisma: Db; keys: KeyRing; logger: Logger; allowPrivateUrls: boolean }): Router {
  const router = Router();
  router.put(PATH, ...jsonBody("8kb"), requireKey(deps.keys), async (req, res) => {
    const parsed = transcriptionRequest.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid("Invalid transcription settings", fieldIssues(parsed.error.issues));
    const { base_url, model, api_key } = parsed.data;
    if (base_url && !deps.allowPrivateUrls && isPrivateHost(new URL(base_url).hostname)) {
      throw invalid("Invalid transcription settings", [{ field: "base_url", message: "a private or loopback address" }]);
    }
    res.json(await setTranscription(deps.prisma, principal(res).orgId, base_url, model, api_key));
  });
  router.use(
    PATH,
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "twilio transcription API failed")),
  );
  return router;
}

/** Sets the org's own service (null: the hub's again, model and key dropped); what is set, the key only as set or not. */
export async function setTranscription(prisma: Db, orgId: string, baseUrl: string | null, model?: string, apiKey?: string) {
  const org = await prisma.org.update({
    where: { id: orgId },
    data: {
      transcribeBaseUrl: baseUrl,
      transcribeModel: baseUrl ? (model ?? null) : null,
      transcribeApiKey: baseUrl ? (apiKey ?? null) : null,
    },
  });
  return { base_url: org.transcribeBaseUrl, model: org.transcribeModel, api_key_set: Boolean(org.transcribeApiKey) };
}

const isPrivateHost = (host: string) =>
  host === "localhost" || (/^[\d.]+$|^\[/.test(host) && isPrivateAddress(host.replace(/^\[|\]$/g, "")));
