import type { IncomingMessage } from "node:http";
import { ClientAddresses, clientKey } from "../../../src/http/client-address";

const request = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor } }) as IncomingMessage;

describe("the client address of a request", () => {
  const addresses = new ClientAddresses(["10.0.0.0/8", "192.0.2.1", "fd00::/8"]);

  it("is the peer when the peer is no trusted proxy, whatever X-Forwarded-For says", () => {
    expect(addresses.of(request("198.51.100.1", "203.0.113.9"))).toBe("198.51.100.1");
    expect(addresses.of(request("::ffff:198.51.100.1", "203.0.113.9"))).toBe("198.51.100.1");
  });

  it("is the right-most forwarded address that is not a trusted proxy, behind trusted ones", () => {
    expect(addresses.of(request("10.1.2.3", "203.0.113.9"))).toBe("203.0.113.9");
    expect(addresses.of(request("10.1.2.3", "1.1.1.1, 203.0.113.9, 192.0.2.1"))).toBe("203.0.113.9");
    expect(addresses.of(request("fd00::1", "2001:db8::7, 10.9.9.9"))).toBe("2001:db8::7");
  });

  it("reads a forwarded address written with its port, as some proxies do", () => {
    expect(addresses.of(request("10.1.2.3", "203.0.113.9:51234"))).toBe("203.0.113.9");
    expect(addresses.of(request("10.1.2.3", "[2001:db8::7]:443, 10.2.2.2:80"))).toBe("2001:db8::7");
  });

  it("stops at the last trusted hop when the forwarded entry is no address or there is none", () => {
    expect(addresses.of(request("10.1.2.3"))).toBe("10.1.2.3");
    expect(addresses.of(request("10.1.2.3", "unknown, 10.2.2.2"))).toBe("10.2.2.2");
    expect(addresses.of(request("10.1.2.3", ""))).toBe("10.1.2.3");
  });

  it("counts an IPv6 client by its /64 and an IPv4 client by its address", () => {
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("203.0.113.9")).toBe("203.0.113.9");
  });
});
