import { BlockList, isIP } from "node:net";

// Addresses a fetched URL may not reach unless INGEST_ALLOW_PRIVATE_URLS=true: the hub's own machine and
// networks (loopback, private, link-local, where cloud metadata services answer), and what is not a unicast
// host at all. An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is checked as its IPv4 address by BlockList.

const blocked = new BlockList();
for (const [network, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, 169.254.169.254 the metadata service of most clouds
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and the broadcast address
] as const)
  blocked.addSubnet(network, bits, "ipv4");
for (const [network, bits] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96], // NAT64: an IPv4 address inside
  ["2002::", 16], // 6to4: an IPv4 address inside
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const)
  blocked.addSubnet(network, bits, "ipv6");

/** Whether `address` (an IP address) is one a fetched URL may not reach. Anything not an IP address is. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 6 ? "ipv6" : "ipv4");
}
