import { findAssistant } from "./assistants/store";
import { DEFAULT_ASSISTANT } from "./bootstrap";
import type { Db } from "./db/database";
import { HubError, invalid, notFound } from "./errors";

// Phone numbers bound to an org's assistant: the Twilio channel routes each incoming message by the number
// it was sent to. The management API and the CLI both edit bindings through these functions.

const E164 = /^\+[1-9]\d{6,14}$/;

/** `whatsapp:+14155238886`, `+1 415 523 8886` -> `+14155238886`; null when it is not a phone number. */
export function normalizeNumber(address: string): string | null {
  const bare = address.replace(/^whatsapp:/i, "").replace(/[\s().-]/g, "");
  return E164.test(bare) ? bare : null;
}

export interface NumberBinding {
  number: string;
  assistantId: string;
  assistantName: string;
  createdAt: Date;
  updatedAt: Date;
}

const withAssistant = { assistant: { select: { name: true } } } as const;
type Row = { number: string; assistantId: string; createdAt: Date; updatedAt: Date; assistant: { name: string } };
const view = (r: Row): NumberBinding => ({
  number: r.number,
  assistantId: r.assistantId,
  assistantName: r.assistant.name,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

export async function listNumbers(prisma: Db, orgId: string): Promise<NumberBinding[]> {
  const rows = await prisma.twilioNumber.findMany({ where: { orgId }, orderBy: { number: "asc" }, include: withAssistant });
  return rows.map(view);
}

/** Binds (or rebinds) a number to an assistant of the org. A number bound by another org is a conflict. */
export async function bindNumber(prisma: Db, orgId: string, address: string, assistantRef: string): Promise<NumberBinding> {
  const number = normalizeNumber(address);
  if (!number) throw invalid("Invalid number", [{ field: "number", message: "Expected an E.164 number such as +14155238886" }]);
  const assistant = await findAssistant(prisma, orgId, assistantRef);
  if (!assistant) throw invalid("Invalid binding", [{ field: "assistant", message: `Assistant ${assistantRef} not found` }]);
  const taken = await prisma.twilioNumber.findUnique({ where: { number } });
  if (taken && taken.orgId !== orgId) throw new HubError(409, "conflict", `${number} is bound by another org`);
  // The unique number makes a concurrent bind by another org fail here rather than steal the number.
  const row = await prisma.twilioNumber.upsert({
    where: { number, orgId },
    create: { number, orgId, assistantId: assistant.id },
    update: { assistantId: assistant.id },
    include: withAssistant,
  });
  return view(row);
}

export async function unbindNumber(prisma: Db, orgId: string, address: string): Promise<void> {
  const number = normalizeNumber(address) ?? address;
  const { count } = await prisma.twilioNumber.deleteMany({ where: { number, orgId } });
  if (!count) throw notFound(`Binding of ${number}`);
}

/** Who answers a message sent to `address`: its binding, or the default org's `default` assistant. */
export async function routeNumber(prisma: Db, address: string): Promise<{ orgId: string; assistant: string }> {
  const number = normalizeNumber(address);
  const bound = number ? await prisma.twilioNumber.findUnique({ where: { number } }) : null;
  if (bound) return { orgId: bound.orgId, assistant: bound.assistantId };
  const org = await prisma.org.findFirstOrThrow({ where: { isDefault: true }, select: { id: true } });
  return { orgId: org.id, assistant: DEFAULT_ASSISTANT };
}
