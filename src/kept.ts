/**
 * Answers kept for a while by key, for lookups a hot path would otherwise send to the database on every
 * request. Lookups of one key under way at once share one load; a load that fails is not kept.
 */
export class Kept<V> {
  private entries = new Map<string, { value: Promise<V>; until: number }>();

  constructor(
    private readonly keepMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: Date.now() + this.keepMs });
    value.catch(() => this.entries.get(key)?.value === value && this.entries.delete(key));
    return value;
  }

  /** Drops the answers whose key starts with `prefix`. */
  forget(prefix: string) {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
