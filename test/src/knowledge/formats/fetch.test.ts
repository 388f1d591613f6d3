import { gzipSync } from "node:zlib";
import { HubError } from "../../../../src/errors";
import { type FetchOptions, fetchPage, PageUnavailable } from "../../../../src/knowledge/formats";
import { type FakeWebServer, startFakeWebServer } from "../../../fakes/web-server";

const open: FetchOptions = { allowPrivate: true, maxBytes: 10_000, timeoutMs: 5_000 };
const guarded: FetchOptions = { ...open, allowPrivate: false };

async function refusal(url: string, opts: FetchOptions) {
  const err = await fetchPage(url, opts).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HubError);
  expect((err as HubError).status).toBe(422);
  return (err as HubError).message;
}

describe("fetchPage", () => {
  let web: FakeWebServer;
  beforeAll(async () => {
    web = await startFakeWebServer();
  });
  afterAll(() => web?.close());

  it("fetches a page, following redirects, as UTF-8 whatever its charset", async () => {
    web.set("/latin", { headers: { "content-type": "text/html; charset=iso-8859-1" }, body: Buffer.from("<p>Grüße</p>", "latin1") });
    web.set("/moved", { status: 301, headers: { location: "/latin" } });
    const page = await fetchPage(`${web.url}/moved`, open);
    expect(page.url).toBe(`${web.url}/latin`);
    expect(page.contentType).toBe("text/html");
    expect(page.bytes.toString("utf8")).toBe("<p>Grüße</p>");
  });

  it("decompresses a gzipped page", async () => {
    web.set("/gz", { headers: { "content-type": "text/plain", "content-encoding": "gzip" }, body: gzipSync("compressed words") });
    expect((await fetchPage(`${web.url}/gz`, open)).bytes.toString()).toBe("compressed words");
  });

  it("refuses, with 422 saying why, a page that is missing, too large, too slow or not http", async () => {
    expect(await refusal(`${web.url}/nowhere`, open)).toMatch(/answered 404/);
    web.set("/big", { headers: { "content-type": "text/plain" }, body: "x".repeat(20_000) });
    expect(await refusal(`${web.url}/big`, open)).toMatch(/larger than 10000 bytes/);
    web.set("/bomb", { headers: { "content-type": "text/plain", "content-encoding": "gzip" }, body: gzipSync("x".repeat(1_000_000)) });
    expect(await refusal(`${web.url}/bomb`, open)).toMatch(/larger than/);
    web.set("/slow", { hang: true });
    expect(await refusal(`${web.url}/slow`, { ...open, timeoutMs: 300 })).toMatch(/did not answer within 300 ms/);
    expect(await refusal("file:///etc/passwd", open)).toMatch(/Only http and https/);
    expect(await refusal("http://127.0.0.1:1/", open)).toMatch(/cannot be reached \(ECONNREFUSED\)/);
  });

  it("tells a page that may answer later (5xx, 429, a timeout, a refused connection) from one that will not", async () => {
    const error = (url: string, opts = open) =>
      fetchPage(url, opts).then(
        () => null,
        (e: unknown) => e,
      );
    web.set("/down", { status: 503, body: "maintenance" });
    web.set("/busy", { status: 429, body: "slow down" });
    web.set("/hang", { hang: true });
    for (const later of [
      await error(`${web.url}/down`),
      await error(`${web.url}/busy`),
      await error(`${web.url}/hang`, { ...open, timeoutMs: 300 }),
      await error("http://127.0.0.1:1/"),
    ])
      expect(later).toBeInstanceOf(PageUnavailable);
    web.set("/forbidden", { status: 403, body: "no" });
    for (const never of [await error(`${web.url}/nowhere`), await error(`${web.url}/forbidden`), await error(`${web.url}/down`, guarded)]) {
      expect(never).toBeInstanceOf(HubError);
      expect(never).not.toBeInstanceOf(PageUnavailable);
    }
  });

  it("refuses private, loopback and link-local addresses, by address or by name", async () => {
    web.set("/ok", { headers: { "content-type": "text/plain" }, body: "fine" });
    const port = new URL(web.url).port;
    for (const url of [
      `http://127.0.0.1:${port}/ok`,
      `http://[::1]:${port}/ok`,
      `http://[::ffff:127.0.0.1]:${port}/ok`,
      `http://localhost:${port}/ok`,
      "http://10.1.2.3/",
      "http://192.168.0.1/",
      "http://169.254.169.254/latest/meta-data/",
      "http://[fd00::1]/",
      "http://[fe80::1]/",
      "http://0.0.0.0/",
    ])
      expect(await refusal(url, guarded)).toMatch(/private or loopback address/);
    expect(web.hits("/ok")).toBe(0);
  });

  it("refuses a redirect to a loopback address from a page it may fetch", async () => {
    const port = new URL(web.url).port;
    web.set("/to-loopback", { status: 302, headers: { location: `http://127.0.0.2:${port}/ok` } });
    web.set("/to-metadata", { status: 307, headers: { location: "http://169.254.169.254/latest/meta-data/" } });
    web.set("/to-ipv6", { status: 302, headers: { location: `http://[::1]:${port}/ok` } });
    const trusted = { ...guarded, trusted: ["127.0.0.1"] };
    expect((await fetchPage(`${web.url}/ok`, trusted)).bytes.toString()).toBe("fine");
    expect(await refusal(`${web.url}/to-loopback`, trusted)).toMatch(/127\.0\.0\.2 is a private or loopback address/);
    expect(await refusal(`${web.url}/to-metadata`, trusted)).toMatch(/169\.254\.169\.254/);
    expect(await refusal(`${web.url}/to-ipv6`, trusted)).toMatch(/::1 is a private or loopback address/);
    expect(web.hits("/ok")).toBe(1);
  });
});
