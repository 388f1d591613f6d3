import { randomBytes } from "node:crypto";
import Redis from "ioredis";
import { Leases } from "../../src/leases";
import { REDIS_URL } from "../support/env";
import { waitFor } from "../support/processes";

// The open-socket count of anonymous visitors across gateways rests on these leases, on real Redis.
describe("Leases", () => {
  const redis = new Redis(REDIS_URL);
  const leases = () => new Leases(redis, `t${randomBytes(5).toString("hex")}`, "test", 300);
  afterAll(() => redis.quit());

  it("grants at most `max` places of a key, and one again once a holder releases", async () => {
    const l = leases();
    expect(await l.acquire("k", "a", 2)).toBe(true);
    expect(await l.acquire("k", "b", 2)).toBe(true);
    expect(await l.acquire("k", "c", 2)).toBe(false);
    expect(await l.acquire("other", "c", 2)).toBe(true);
    await l.release({ key: "k", holder: "a" });
    expect(await l.acquire("k", "c", 2)).toBe(true);
  });

  it("frees the places of a holder that stops renewing (a gateway that died) within a lease, and keeps renewed ones", async () => {
    const l = leases();
    expect(await l.acquire("k", "live", 2)).toBe(true);
    expect(await l.acquire("k", "dead", 2)).toBe(true);
    const renewing = setInterval(() => l.renew([{ key: "k", holder: "live" }]), 100);
    try {
      await waitFor(() => l.acquire("k", "new", 2), 5_000, "the dead holder's place");
      expect(await l.acquire("k", "more", 2)).toBe(false);
    } finally {
      clearInterval(renewing);
    }
  });
});
