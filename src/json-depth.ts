// Free-form JSON (the ask API's metadata, fields a body or frame carries beyond its schema) reaches code that
// recurses: JSON.stringify, zod, Postgres's jsonb input. V8's JSON.parse does not, so a 256 KiB body can hold
// 100,000 levels of nesting, enough to overflow any of those. Each surface refuses such input once parsed,
// with this walk, which keeps its own stack.

export const MAX_JSON_DEPTH = 32;

/**
 * The top-level field under which `value` nests deeper than `max` objects and arrays ("body" for the value
 * itself), or null when it does not.
 */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): string | null {
  const stack: { value: unknown; depth: number; field: string }[] = [{ value, depth: 0, field: "body" }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (item.value === null || typeof item.value !== "object") continue;
    if (item.depth >= max) return item.field;
    for (const [key, child] of Object.entries(item.value)) {
      stack.push({ value: child, depth: item.depth + 1, field: item.depth === 0 ? key : item.field });
    }
  }
  return null;
}

export const tooDeepIssue = (field: string) => ({ field, message: `Nested deeper than ${MAX_JSON_DEPTH} levels` });
