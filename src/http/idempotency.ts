import type { Request } from "express";
import { invalid } from "../errors";

/**
 * The `Idempotency-Key` header (as Stripe and the IETF draft use it): APIs whose documents give a message
 * no client id of its own use it as the channel message id, so a retried POST stores and answers once.
 */
export function idempotencyKey(req: Request): string | undefined {
  const key = req.get("idempotency-key")?.trim();
  if (!key) return undefined;
  if (key.length > 200) throw invalid("Idempotency-Key is too long", [{ field: "Idempotency-Key", message: "200 characters at most" }]);
  return key;
}
