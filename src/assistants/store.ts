import type { Db } from "../db/database";
import { HubError } from "../errors";
import type { Assistant } from "../generated/prisma/client";
import { Kept } from "../kept";
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
    handoffPhrases: a.handoffPhrases,
    handoffMessage: a.handoffMessage,
    handoffAfterMisses: a.handoffAfterMisses,
    vision: a.vision,
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
  assistants: AssistantLookup,
  orgId: string,
  ref: string,
  defaultProvider: AssistantProfile["provider"],
): Promise<AssistantProfile> {
  const found = await assistants.find(orgId, ref);
  if (!found?.deployed) throw assistantNotFound(ref);
  return toProfile(found, defaultProvider);
}

const LOOKUP_MS = 2000;

/**
 * Assistants by org and id or name, each answer kept for LOOKUP_MS: every turn looks its assistant up
 * twice (the gateway checks it is deployed, the worker reads its profile), and assistants change rarely.
 * A change made through this process's API applies at once (forget); other processes see it within
 * LOOKUP_MS. Lookups of one assistant under way at once share one query.
 */
export class AssistantLookup {
  private kept = new Kept<Assistant | null>(LOOKUP_MS);

  constructor(private readonly prisma: Db) {}

  find(orgId: string, ref: string): Promise<Assistant | null> {
    return this.kept.get(`${orgId}:${ref}`, () => findAssistant(this.prisma, orgId, ref));
  }

  /** Drops what is kept of the org's assistants, after one of them changed. */
  forget(orgId: string) {
    this.kept.forget(`${orgId}:`);
  }
}
