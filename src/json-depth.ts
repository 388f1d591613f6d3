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
  // Three stacks side by side rather than an object an entry: a wide body has many thousand entries.
  const values: unknown[] = [value];
  const depths: number[] = [0];
  const fields: string[] = ["body"];
  while (values.length) {
    const v = values.pop();
    const depth = depths.pop() as number;
    const field = fields.pop() as string;
    if (v === null || typeof v !== "object") continue;
    if (depth >= max) return field;
    const node = v as Record<string, unknown>;
    for (const key in node) {
      values.push(node[key]);
      depths.push(depth + 1);
      fields.push(depth === 0 ? key : field);
    }
  }
  return null;
}

export const tooDeepIssue = (field: string) => ({ field, message: `Nested deeper than ${MAX_JSON_DEPTH} levels` });
