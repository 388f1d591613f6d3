import type { Db } from "../db/database";
import { HubError } from "../errors";
import type { Assistant } from "../generated/prisma/client";
import type { AssistantProfile, PreviewAssistant } from "../types";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);

export function assistantNotFound(ref: string): HubError {
  return new HubError(404, "assistant_not_found", "Assistant not found or not deployed", { assistantId: ref });
}

/** An assistant of the org by id or by name; null if none. */
export async function findAssistant(prisma: Db, orgId: string, ref: string): Promise<Assistant | null> {
  return prisma.assistant.findFirst({ where: isUuid(ref) ? { orgId, id: ref } : { orgId, name: ref } });
}

export function toProfile(a: Assistant, defaultProvider: AssistantProfile["provider"]): AssistantProfile {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    instructions: a.instructions,
    provider: (a.provider as AssistantProfile["provider"] | null) ?? defaultProvider,
    model: a.model,
    folderIds: a.folderIds,
    suggestions: a.suggestions,
  };
}

export function previewProfile(p: PreviewAssistant, defaultProvider: AssistantProfile["provider"]): AssistantProfile {
  return {
    id: null,
    name: p.name,
    description: p.description ?? "",
    instructions: p.instructions ?? "",
    provider: p.provider ?? defaultProvider,
    model: p.model ?? null,
    folderIds: [],
    suggestions: [],
  };
}

/** The deployed assistant a turn may use, or assistant_not_found. */
export async function resolveDeployed(
  prisma: Db,
  orgId: string,
  ref: string,
  defaultProvider: AssistantProfile["provider"],
): Promise<AssistantProfile> {
  const found = await findAssistant(prisma, orgId, ref);
  if (!found?.deployed) throw assistantNotFound(ref);
  return toProfile(found, defaultProvider);
}
