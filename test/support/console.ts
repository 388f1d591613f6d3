import { createOperator, type OperatorRole } from "../../src/auth/operators";
import type { TestHub } from "./hub";

export const PASSWORD = "correct horse battery";

/** A new operator of the org (a unique email), as `npm run cli -- operator add` makes one. */
export async function addOperator(hub: TestHub, orgId: string, role: OperatorRole) {
  const email = `${role}-${Math.random().toString(36).slice(2)}@example.test`;
  const operator = await createOperator(hub.runtime.db.prisma, { orgId, email, password: PASSWORD, role });
  return { ...operator, email };
}

/** Signs in through the console's API; the `cookie` header value that the browser would send back. */
export async function signIn(hub: TestHub, email: string, password = PASSWORD, headers: Record<string, string> = {}) {
  const res = await fetch(`${hub.url}/api/console/login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ email, password }),
  });
  const setCookie = res.headers.get("set-cookie") ?? "";
  return { status: res.status, body: await res.json(), setCookie, cookie: setCookie.split(";")[0] };
}

/** hub.api as a page of the hub signed in with `cookie`: no API key, the hub's own Origin. */
export const asOperator =
  (hub: TestHub, cookie: string): TestHub["api"] =>
  (path, init = {}) =>
    hub.api(path, { ...init, headers: { authorization: "", cookie, origin: hub.url, ...init.headers } });
