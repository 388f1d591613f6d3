import { findAssistant } from "../../src/assistants/store";
import { DEFAULT_ASSISTANT, defaultOrgId } from "../../src/bootstrap";
import type { Template } from "../../src/channels";
import type { Db } from "../../src/db/database";
import { HubError, invalid, notFound } from "../../src/errors";
import { Prisma } from "../../src/generated/prisma/client";
import { Kept } from "../../src/kept";

// Phone numbers bound to an org's assistant: the Twilio channel routes each incoming message by the number
// it was sent to. Its numbers API (numbers-api.ts) and CLI commands (commands.ts) both edit bindings through these.

const E164 = /^\+[1-9]\d{6,14}$/;

/** `whatsapp:+14155238886`, `+1 415 523 8886` -> `+14155238886`; null when it is not a phone number. */
export function normalizeNumber(address: string): string | null {
  const bare = address.replace(/^whatsapp:/i, "").replace(/[\s().-]/g, "");
  return E164.test(bare) ? bare : null;
}

export interface NumberBinding {
  number: string;
  orgId: string;
  assistantId: string;
  assistantName: string;
  /** Sent in place of a reply that would fall outside WhatsApp's 24-hour window (src/window.ts); null: none. */
  reengagementTemplate: Template | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Who is changing bindings. The hub's Twilio account belongs to whoever runs the hub: the operator (a key of
 * the default org, or the CLI, which has the database itself) assigns its numbers to orgs. An org chooses
 * which of its assistants answers a number assigned to it, and may give the number back, nothing more: every
 * number's messages would otherwise be one PUT away from any org.
 */
export interface Binder {
  orgId: string;
  operator: boolean;
}

const withAssistant = { assistant: { select: { name: true } } } as const;
type Row = {
  number: string;
  orgId: string;
  assistantId: string;
  reengagementContentSid: string | null;
  reengagementVariables: unknown;
  createdAt: Date;
  updatedAt: Date;
  assistant: { name: string };
};
const view = (r: Row): NumberBinding => ({
  number: r.number,
  orgId: r.orgId,
  assistantId: r.assistantId,
  assistantName: r.assistant.name,
  reengagementTemplate: r.reengagementContentSid
    ? {
        contentSid: r.reengagementContentSid,
        ...(r.reengagementVariables ? { variables: r.reengagementVariables as Record<string, string> } : {}),
      }
    : null,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

/** The org's bindings; the operator sees every org's. */
export async function listNumbers(prisma: Db, binder: Binder): Promise<NumberBinding[]> {
  const rows = await prisma.twilioNumber.findMany({
    where: binder.operator ? {} : { orgId: binder.orgId },
    orderBy: { number: "asc" },
    include: withAssistant,
  });
  return rows.map(view);
}

const notYours = (number: string) =>
  new HubError(
    403,
    "forbidden",
    `${number} is not assigned to your org: the hub's operator assigns numbers (with a key of the default org)`,
  );

/**
 * Binds (or rebinds) a number to an assistant of `orgId` (the binder's own org unless the operator names
 * another). A number bound by another org is a conflict even for the operator: it is unbound first, on purpose.
 * `template`: the number's re-engagement template (null: none; undefined: unchanged).
 */
export async function bindNumber(
  prisma: Db,
  binder: Binder,
  address: string,
  assistantRef: string,
  orgId = binder.orgId,
  template?: Template | null,
): Promise<NumberBinding> {
  const number = normalizeNumber(address);
  if (!number) throw invalid("Invalid number", [{ field: "number", message: "Expected an E.164 number such as +14155238886" }]);
  if (orgId !== binder.orgId && !binder.operator)
    throw new HubError(403, "forbidden", "Only the hub's operator binds numbers for another org");
  const taken = await prisma.twilioNumber.findUnique({ where: { number } });
  // Checked before the assistant, so that a refused org learns nothing about the number from the answer.
  if (!binder.operator && taken?.orgId !== binder.orgId) throw notYours(number);
  if (taken && taken.orgId !== orgId) throw new HubError(409, "conflict", `${number} is bound by another org: unbind it first`);
  if (orgId !== binder.orgId && !(await prisma.org.findUnique({ where: { id: orgId }, select: { id: true } }))) {
    throw invalid("Invalid binding", [{ field: "org_id", message: `Org ${orgId} not found` }]);
  }
  const assistant = await findAssistant(prisma, orgId, assistantRef);
  if (!assistant) throw invalid("Invalid binding", [{ field: "assistant", message: `Assistant ${assistantRef} not found` }]);
  const data = {
    assistantId: assistant.id,
    ...(template === undefined
      ? {}
      : { reengagementContentSid: template?.contentSid ?? null, reengagementVariables: template?.variables ?? Prisma.DbNull }),
  };
  if (!binder.operator) {
    // Only ever an update for an org: a bind racing the operator's unbind must not create the binding anew.
    const { count } = await prisma.twilioNumber.updateMany({ where: { number, orgId }, data });
    if (!count) throw notYours(number);
    return view(await prisma.twilioNumber.findUniqueOrThrow({ where: { number }, include: withAssistant }));
  }
  // The unique number makes a concurrent bind by another org fail here rather than steal the number.
  const row = await prisma.twilioNumber.upsert({
    where: { number, orgId },
    create: { number, orgId, ...data },
    update: data,
    include: withAssistant,
  });
  return view(row);
}

/** Unbinds a number: the binder's own, or any for the operator. Its messages go to the default org again. */
export async function unbindNumber(prisma: Db, binder: Binder, address: string): Promise<void> {
  const number = normalizeNumber(address) ?? address;
  const { count } = await prisma.twilioNumber.deleteMany({ where: binder.operator ? { number } : { number, orgId: binder.orgId } });
  if (!count) throw notFound(`Binding of ${number}`);
}

/** Who answers a message sent to `address`: its binding, or the default org's `default` assistant. */
export async function routeNumber(prisma: Db, address: string): Promise<{ orgId: string; assistant: string }> {
  const number = normalizeNumber(address);
  const bound = number ? await prisma.twilioNumber.findUnique({ where: { number } }) : null;
  if (bound) return { orgId: bound.orgId, assistant: bound.assistantId };
  return { orgId: await defaultOrgId(prisma), assistant: DEFAULT_ASSISTANT };
}

const ROUTE_MS = 2000;

/**
 * routeNumber with each answer kept for ROUTE_MS: every webhook routes its number, and bindings rarely
 * change. A change made through this process applies at once (forget); other processes see it within
 * ROUTE_MS, as they see a changed assistant (src/assistants/store.ts).
 */
export class NumberRoutes {
  private kept = new Kept<{ orgId: string; assistant: string }>(ROUTE_MS);

  constructor(private readonly prisma: Db) {}

  route(address: string) {
    return this.kept.get(address, () => routeNumber(this.prisma, address));
  }

  forget() {
    this.kept.forget("");
  }
}
