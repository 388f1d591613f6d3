import type { ReplyBus } from "./bus";
import { replyTo, toWire } from "./conversations";
import type { Db } from "./db/database";
import type { WireMessage } from "./types";

export interface WaitOptions {
  timeoutMs: number;
  onDelta?: (content: string) => void;
  /** Ends the wait early (the client went away). */
  signal?: AbortSignal;
  /**
   * Also look in this database, for a reply stored before the wait began. Not needed by a caller that
   * started waiting before the turn was queued: no reply can come before its listener then.
   */
  storedIn?: Db;
}

export type WaitResult = { reply: WireMessage; failed: boolean } | { held: true } | null;

/**
 * Waits for the reply to one user message on the bus (and in the database, see storedIn). Null on
 * timeout or abort; the reply is still stored when it comes. `held`: none comes, a person has the conversation.
 */
export function awaitReply(bus: ReplyBus, conversationId: string, turnId: string, opts: WaitOptions): Promise<WaitResult> {
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
      if (!("turnId" in event) || event.turnId !== turnId) return;
      if (event.type === "delta") opts.onDelta?.(event.content);
      if (event.type === "reply") finish({ reply: event.message, failed: event.failed });
      if (event.type === "held") finish({ held: true });
    });
    const timer = setTimeout(() => finish(null), opts.timeoutMs);
    const abort = () => finish(null);
    opts.signal?.addEventListener("abort", abort);
    opts.storedIn &&
      replyTo(opts.storedIn, turnId).then(
        (stored) => stored && finish({ reply: toWire(stored), failed: Boolean(stored.error) }),
        () => {},
      );
  });
}
