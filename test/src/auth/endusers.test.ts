import { createHmac } from "node:crypto";
import { signEndUserToken, verifyEndUserToken } from "../../../src/auth/endusers";

const SECRET = "a-secret-of-the-integrator-backend-000";
const now = () => Math.floor(Date.now() / 1000);
const exp = () => now() + 60;
const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
/** A token laid out by hand, as any JWT library would: header and claims as given, signed HMAC-SHA256. */
const handMade = (header: object, claims: object, hash = "sha256") => {
  const body = `${enc(header)}.${enc(claims)}`;
  return `${body}.${createHmac(hash, SECRET).update(body).digest("base64url")}`;
};

describe("end-user tokens (HS256)", () => {
  it("verifies a token the integrator signed, with its claims", async () => {
    const token = await signEndUserToken(SECRET, { sub: "user-7", exp: exp(), org_id: "o", name: "Ana" });
    expect(await verifyEndUserToken(SECRET, token)).toMatchObject({ sub: "user-7", org_id: "o", name: "Ana" });
  });

  it("matches a token made by any JWT library (the standard HS256 layout)", async () => {
    const token = handMade({ typ: "JWT", alg: "HS256" }, { sub: "u", exp: exp() });
    expect((await verifyEndUserToken(SECRET, token))?.sub).toBe("u");
  });

  it("refuses a wrong secret, a changed payload, an expired token, no exp, no sub, and alg none", async () => {
    const good = await signEndUserToken(SECRET, { sub: "u", exp: exp() });
    const [h, , s] = good.split(".");
    const forged = `${h}.${enc({ sub: "admin", exp: exp() })}.${s}`;
    const none = `${enc({ alg: "none" })}.${good.split(".")[1]}.`;
    expect(await verifyEndUserToken("another-secret", good)).toBeNull();
    expect(await verifyEndUserToken(SECRET, forged)).toBeNull();
    expect(await verifyEndUserToken(SECRET, await signEndUserToken(SECRET, { sub: "u", exp: 1 }))).toBeNull();
    expect(await verifyEndUserToken(SECRET, await signEndUserToken(SECRET, { sub: "u" } as never))).toBeNull();
    expect(await verifyEndUserToken(SECRET, await signEndUserToken(SECRET, { exp: exp() } as never))).toBeNull();
    expect(await verifyEndUserToken(SECRET, await signEndUserToken(SECRET, { sub: "", exp: exp() }))).toBeNull();
    expect(await verifyEndUserToken(SECRET, none)).toBeNull();
    expect(await verifyEndUserToken(SECRET, "not.a.jwt")).toBeNull();
  });

  it("accepts HS256 only: a token signed right with another algorithm is refused", async () => {
    const claims = { sub: "u", exp: exp() };
    expect(await verifyEndUserToken(SECRET, handMade({ alg: "HS512", typ: "JWT" }, claims, "sha512"))).toBeNull();
    expect(await verifyEndUserToken(SECRET, handMade({ alg: "HS384", typ: "JWT" }, claims, "sha384"))).toBeNull();
    // The HS256 signature under a header that names another algorithm.
    expect(await verifyEndUserToken(SECRET, handMade({ alg: "HS512", typ: "JWT" }, claims))).toBeNull();
    expect(await verifyEndUserToken(SECRET, handMade({ alg: "none", typ: "JWT" }, claims))).toBeNull();
  });

  it("forgives an expiry within the clock tolerance, not beyond it", async () => {
    const rules = { clockToleranceSeconds: 30 };
    const late = await signEndUserToken(SECRET, { sub: "u", exp: now() - 10 });
    const expired = await signEndUserToken(SECRET, { sub: "u", exp: now() - 60 });
    expect((await verifyEndUserToken(SECRET, late, rules))?.sub).toBe("u");
    expect(await verifyEndUserToken(SECRET, late)).toBeNull();
    expect(await verifyEndUserToken(SECRET, expired, rules)).toBeNull();
  });

  it("checks aud and iss when they are configured", async () => {
    const rules = { audience: "hub.example.com", issuer: "https://shop.example.com" };
    const token = (claims: object) => signEndUserToken(SECRET, { sub: "u", exp: exp(), ...claims });
    const right = await token({ aud: "hub.example.com", iss: "https://shop.example.com" });
    expect((await verifyEndUserToken(SECRET, right, rules))?.sub).toBe("u");
    expect(await verifyEndUserToken(SECRET, await token({ aud: "other.example.com", iss: "https://shop.example.com" }), rules)).toBeNull();
    expect(await verifyEndUserToken(SECRET, await token({ aud: "hub.example.com", iss: "https://evil.example.com" }), rules)).toBeNull();
    expect(await verifyEndUserToken(SECRET, await token({ iss: "https://shop.example.com" }), rules)).toBeNull();
    // Not configured: tokens need no aud or iss, and any they carry are not checked.
    expect((await verifyEndUserToken(SECRET, await token({ aud: "anything" })))?.sub).toBe("u");
  });
});
