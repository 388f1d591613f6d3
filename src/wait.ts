import type { ReplyBus } from "./bus";
import { replyTo, toWire } from "./conversations";
import type { Db } from "./db/database";
import type { WireMessage } from "./types";

export interface WaitOptions {
  timeoutMs: number;
  onDelta?: (content: string) => void;
  /** Ends the wait early (the client went away). */
  signal?: AbortSignal;
}

export type WaitResult = { reply: WireMessage; failed: boolean } | null;

/**
 * Waits for the reply to one user message: on the bus, and in the database in case it was stored before
 * the listener was in place. Null on timeout or abort; the reply is still stored when it comes.
 */
export function awaitReply(bus: ReplyBus, prisma: Db, conversationId: string, turnId: string, opts: WaitOptions): Promise<WaitResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: WaitResult) => {
      if (done) return;
      done = true;
      off();
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", abort);
      resolve(result);
    };
    const off = bus.on(conversationId, (event) => {
      if (event.turnId !== turnId) return;
      if (event.type === "delta") opts.onDelta?.(event.content);
      if (event.type === "reply") finish({ reply: event.message, failed: event.failed });
    });
    const timer = setTimeout(() => finish(null), opts.timeoutMs);
    const abort = () => finish(null);
    opts.signal?.addEventListener("abort", abort);
    replyTo(prisma, turnId).then(
      (stored) => stored && finish({ reply: toWire(stored), failed: Boolean(stored.error) }),
      () => {},
    );
  });
}
