/** A loop started by every(); stop() starts no more rounds (one under way runs to its end). */
export interface Periodic {
  stop(): void;
}

/**
 * Runs `round` every intervalMs, never two at once (a slow round makes the next wait, not pile up). A round
 * that throws is reported and the loop goes on: the checks it runs (sweeper, outbox) are worth trying again.
 */
export function every(intervalMs: number, round: () => Promise<void>, onError: (err: Error) => void): Periodic {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await round();
    } catch (err) {
      onError(err as Error);
    } finally {
      running = false;
    }
  }, intervalMs);
  // The loops never keep a process alive on their own.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
