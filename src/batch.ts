/**
 * Group commit: items submitted while a flush is under way wait for it, then go together in the next one.
 * Nothing waits on a timer: an idle hub flushes each item at once (on the next turn of the event loop, so
 * that what one I/O callback round submitted goes together), and under load a flush takes everything that
 * arrived during the one before, so batches grow with the load and a statement's cost is shared by all.
 *
 * `run` gets the items in the order submitted and returns one result per item, in the same order; it must
 * be safe to run again for items it already stored (see insertInbound). When a batch fails with an error
 * that one item can cause (`splits`: a value Postgres refuses, a deadlock between two batches), its items
 * are run again one at a time, in order: the bad one fails only its own caller, with the error it would have
 * got without batching. Any other failure (the database or Redis away) fails every caller of the batch.
 */
export class Batcher<I, O> {
  private queued: { item: I; resolve: (out: O) => void; reject: (err: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly splits: (err: unknown) => boolean = () => false,
    /** The most items in one batch: a statement's parameters and a transaction's size stay bounded. */
    private readonly max = 256,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queued.push({ item, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private async flush() {
    while (this.queued.length) {
      const batch = this.queued.splice(0, this.max);
      try {
        const out = await this.run(batch.map((b) => b.item));
        for (const [i, b] of batch.entries()) b.resolve(out[i]);
      } catch (err) {
        if (batch.length === 1 || !this.splits(err)) {
          for (const b of batch) b.reject(err);
          continue;
        }
        for (const b of batch) {
          await this.run([b.item]).then(([out]) => b.resolve(out), b.reject);
        }
      }
    }
    this.flushing = false;
  }
}

/**
 * A batch's items in rounds in which no key comes twice (the first item of each key, then the second of each,
 * ...), each round with its items' positions in the batch: one statement may not write a row twice, so a
 * batch that names a row twice takes one statement a round, in order.
 */
export function roundsByKey<T>(items: T[], keyOf: (item: T) => string): { index: number; item: T }[][] {
  const rounds: { index: number; item: T }[][] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const key = keyOf(item);
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    if (!rounds[round]) rounds[round] = [];
    rounds[round].push({ index, item });
  });
  return rounds;
}
