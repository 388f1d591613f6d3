import { createHmac } from "node:crypto";
import { signEndUserToken, verifyEndUserToken } from "../../../src/auth/endusers";

const SECRET = "a-secret-of-the-integrator-backend-000";
const exp = () => Math.floor(Date.now() / 1000) + 60;

describe("end-user tokens (HS256)", () => {
  it("verifies a token the integrator signed, with its claims", () => {
    const token = signEndUserToken(SECRET, { sub: "user-7", exp: exp(), org_id: "o", name: "Ana" });
    expect(verifyEndUserToken(SECRET, token)).toMatchObject({ sub: "user-7", org_id: "o", name: "Ana" });
  });

  it("matches a token made by any JWT library (the standard HS256 layout)", () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const body = `${enc({ typ: "JWT", alg: "HS256" })}.${enc({ sub: "u", exp: exp() })}`;
    const token = `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
    expect(verifyEndUserToken(SECRET, token)?.sub).toBe("u");
  });

  it("refuses a wrong secret, a changed payload, an expired token, no exp, no sub, and alg none", () => {
    const good = signEndUserToken(SECRET, { sub: "u", exp: exp() });
    const [h, , s] = good.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: "admin", exp: exp() })).toString("base64url")}.${s}`;
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${good.split(".")[1]}.`;
    expect(verifyEndUserToken("another-secret", good)).toBeNull();
    expect(verifyEndUserToken(SECRET, forged)).toBeNull();
    expect(verifyEndUserToken(SECRET, signEndUserToken(SECRET, { sub: "u", exp: 1 }))).toBeNull();
    expect(verifyEndUserToken(SECRET, signEndUserToken(SECRET, { sub: "u" } as never))).toBeNull();
    expect(verifyEndUserToken(SECRET, signEndUserToken(SECRET, { exp: exp() } as never))).toBeNull();
    expect(verifyEndUserToken(SECRET, none)).toBeNull();
    expect(verifyEndUserToken(SECRET, "not.a.jwt")).toBeNull();
  });
});
