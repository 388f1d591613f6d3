import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import { HubError } from "../../src/errors";
import { clientKey } from "../../src/http/client-address";
import type { Held, Leases } from "../../src/leases";
import type { RateLimiter } from "../../src/ratelimit";

export interface AddressLimits {
  /** Anonymous sockets open at once per client address; 0: no limit. */
  socketsPerAddress: number;
  /** Anonymous sockets opened a minute per client address (each stores a session); 0: no limit. */
  sessionsPerMinute: number;
  /** Messages a minute across the anonymous sessions of one client address; 0: no limit. */
  messagesPerMinute: number;
}

/**
 * What anonymous visitors from one client address may use between them, on every gateway. Each session has
 * its own message limit (in accept()), but every new socket is a new anonymous session: without this, one
 * address could open sockets without end and send a session's fill on each. Signed-in users and API keys are
 * not counted here; their limit is per user, whatever the socket.
 */
export class AddressBudget {
  private held = new Map<WebSocket, Held>();

  constructor(
    private leases: Leases,
    private limiter: RateLimiter,
    private limits: AddressLimits,
  ) {}

  /** Counts an anonymous socket against its address until drop(); rate_limited when the address has its fill. */
  async hold(ws: WebSocket, address: string): Promise<void> {
    if (this.limits.sessionsPerMinute) {
      try {
        await this.limiter.take("ws-address-sessions", clientKey(address), this.limits.sessionsPerMinute);
      } catch (err) {
        if (!(err instanceof HubError)) throw err;
        throw new HubError(
          429,
          "rate_limited",
          "Too many anonymous sessions opened from this address: wait a minute, or sign in",
          err.details,
        );
      }
    }
    if (!this.limits.socketsPerAddress) return;
    const place = { key: clientKey(address), holder: randomUUID() };
    if (!(await this.leases.acquire(place.key, place.holder, this.limits.socketsPerAddress))) {
      throw new HubError(429, "rate_limited", "Too many anonymous sessions open from this address: close one, or sign in");
    }
    this.held.set(ws, place);
    // Closed while the place was being taken: the close found nothing to release then.
    if (ws.readyState !== ws.OPEN) this.drop(ws);
  }

  drop(ws: WebSocket): void {
    const place = this.held.get(ws);
    if (!place) return;
    this.held.delete(ws);
    this.leases.release(place);
  }

  /** Keeps this gateway's places held; a gateway that stops renewing (it died) loses them within a lease. */
  renew(): Promise<void> {
    return this.leases.renew([...this.held.values()]);
  }

  /** Counts an anonymous message against its address; rate_limited past the address's minute. */
  async message(address: string): Promise<void> {
    if (this.limits.messagesPerMinute) await this.limiter.take("ws-address", clientKey(address), this.limits.messagesPerMinute);
  }
}
