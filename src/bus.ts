import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { firstAttempt, type RedisCall } from "./redis";
import type { TurnEvent } from "./types";

type Listener = (event: TurnEvent) => void;

/**
 * Turn events over Redis pub/sub: workers publish, every gateway receives, and each hands an event to the
 * listeners it holds locally for that conversation (a waiting REST request, an SSE stream, sockets).
 * One channel and one subscription per process: waiting for a reply costs no Redis round trip.
 *
 * An event published by this process reaches its own listeners at once (a gateway that also answers, ROLE
 * all, hands the reply to the waiting request without going through Redis), and the copy Redis sends back
 * is recognised by its origin, at the start of the raw message, without being parsed.
 */
export class ReplyBus {
  private listeners = new Map<string, Set<Listener>>();
  /** Listeners to every conversation of an org (operators' sockets), by org. */
  private orgListeners = new Map<string, Set<Listener>>();
  private readonly channel: string;
  // The first field of every event this process publishes: `{"origin":"<uuid>",`.
  private readonly ownPrefix = `{"origin":"${randomUUID()}",`;

  constructor(
    private publisher: RedisCall,
    prefix: string,
    private subscriber?: Redis,
  ) {
    this.channel = `{${prefix}}:events`;
  }

  /**
   * Starts receiving (gateways only; workers just publish). Resolves once subscribed, or at once when Redis
   * is away: ioredis then subscribes as soon as it connects, and again after each reconnection.
   */
  async listen(): Promise<void> {
    if (!this.subscriber) return;
    this.subscriber.on("message", (channel: string, raw: string) => {
      if (channel !== this.channel || raw.startsWith(this.ownPrefix)) return;
      this.deliver(JSON.parse(raw) as TurnEvent);
    });
    const subscribed = this.subscriber.subscribe(this.channel);
    subscribed.catch(() => {});
    if (await firstAttempt(this.subscriber)) await subscribed;
  }

  async publish(event: TurnEvent): Promise<void> {
    // Handed to Redis first: a local listener that throws cannot keep the event from the other gateways.
    const published = this.publisher("publish", this.channel, this.ownPrefix + JSON.stringify(event).slice(1));
    try {
      if (this.subscriber) this.deliver(event);
    } finally {
      await published;
    }
  }

  private deliver(event: TurnEvent) {
    for (const listener of this.listeners.get(event.conversationId) ?? []) listener(event);
    // Most gateways have no operator connected: one size check per event then.
    if (this.orgListeners.size) for (const listener of this.orgListeners.get(event.orgId) ?? []) listener(event);
  }

  /** Calls listener with every event of the conversation until the returned function is called. */
  on(conversationId: string, listener: Listener): () => void {
    return add(this.listeners, conversationId, listener);
  }

  /**
   * Calls listener with every event of every conversation of the org (its orgId, set by whoever publishes)
   * until the returned function is called.
   */
  onOrg(orgId: string, listener: Listener): () => void {
    return add(this.orgListeners, orgId, listener);
  }
}

function add(listeners: Map<string, Set<Listener>>, key: string, listener: Listener): () => void {
  const set = listeners.get(key) ?? new Set<Listener>();
  listeners.set(key, set);
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) listeners.delete(key);
  };
}
