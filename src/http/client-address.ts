import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";

// Who a request comes from. Behind a load balancer the TCP peer is the balancer, which names the client in
// X-Forwarded-For; but anyone can send that header. So it is read only when the peer is a trusted proxy, and
// from the right: each proxy appends the address it saw, so the right-most entry that is not itself a trusted
// proxy is the one a trusted hop saw, and everything left of it is what the client chose to send.

export class ClientAddresses {
  private trusted = new BlockList();

  /** `proxies`: IP addresses and CIDR networks, as TRUSTED_PROXIES lists them. */
  constructor(proxies: string[]) {
    for (const entry of proxies) {
      const [ip, bits] = entry.split("/");
      if (bits === undefined) this.trusted.addAddress(ip, family(ip));
      else this.trusted.addSubnet(ip, Number(bits), family(ip));
    }
  }

  trusts(address: string): boolean {
    return isIP(address) !== 0 && this.trusted.check(address, family(address));
  }

  /** The client's address, per the rule above. */
  of(req: IncomingMessage): string {
    let address = plain(req.socket.remoteAddress ?? "");
    const forwarded = String(req.headers["x-forwarded-for"] ?? "").split(",");
    while (this.trusts(address) && forwarded.length) {
      const hop = plain(withoutPort((forwarded.pop() as string).trim()));
      // Not an address: no trusted proxy wrote it, so the last trusted hop is as far as anything is known.
      if (!isIP(hop)) break;
      address = hop;
    }
    return address;
  }
}

/**
 * What one client is counted as: an IPv4 address, or an IPv6 /64, which is what one subscriber gets; they
 * pick any address within it at will.
 */
export function clientKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head, tail] = address.split("%")[0].split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

const family = (ip: string) => (isIP(ip) === 6 ? "ipv6" : "ipv4");

/** Some proxies write the client's port too: `203.0.113.7:51234`, `[2001:db8::1]:51234`. */
function withoutPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4 ? v4[1] : hop;
}

/** An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d. */
const plain = (address: string) => (address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address);
