import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import zlib from "node:zlib";
import { HubError } from "../../errors";
import { isPrivateAddress } from "./addresses";
import { PageUnavailable, unprocessable } from "./errors";
import { asUtf8, mediaType } from "./text";

// Fetching a page for the knowledge base must not become a way into the hub's network: every address
// connected to (the URL's, each redirect's, each one DNS gives) is checked, in the lookup itself and again on
// the socket, so a name that resolves to 127.0.0.1, or a redirect to one, is refused like the address itself.

export interface FetchOptions {
  /** Private and loopback addresses allowed (tests, an intranet wiki). */
  allowPrivate: boolean;
  /** Addresses fetched even though private (the tests' web server on 127.0.0.1, with allowPrivate off). */
  trusted?: string[];
  maxBytes: number;
  timeoutMs: number;
}

export interface FetchedPage {
  bytes: Buffer;
  /** The media type the server sent; text arrives here as UTF-8 whatever its charset was. */
  contentType: string;
  /** Where the page was found, after redirects. */
  url: string;
}

const MAX_REDIRECTS = 5;
const refused = (host: string) =>
  unprocessable(`The URL's host ${host} is a private or loopback address, which the hub does not fetch (INGEST_ALLOW_PRIVATE_URLS)`);

/** A DNS lookup that fails for a name any of whose addresses is refused. */
const guardedLookup =
  (isRefused: (address: string) => boolean): LookupFunction =>
  (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, "", 0);
      if (addresses.some((a) => isRefused(a.address))) return callback(refused(hostname) as unknown as NodeJS.ErrnoException, "", 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };

export async function fetchPage(url: string, opts: FetchOptions): Promise<FetchedPage> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await request(current, opts, signal);
    const location = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
      res.destroy();
      current = new URL(location, current).toString();
      continue;
    }
    if (!res.statusCode || res.statusCode >= 400) {
      res.destroy();
      const status = res.statusCode ?? 0;
      const reason = `The URL answered ${status}: ${current}`;
      throw status >= 500 || status === 408 || status === 429 ? new PageUnavailable(reason) : unprocessable(reason);
    }
    const contentType = res.headers["content-type"] ?? "";
    const bytes = await readBody(res, opts.maxBytes, current);
    return { bytes: asUtf8(bytes, contentType), contentType: mediaType(contentType), url: current };
  }
  throw unprocessable(`The URL redirects more than ${MAX_REDIRECTS} times: ${url}`);
}

function request(raw: string, opts: FetchOptions, signal: AbortSignal): Promise<IncomingMessage> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw unprocessable(`Not a URL: ${raw}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw unprocessable(`Only http and https URLs can be fetched, not ${url.protocol}`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const isRefused = (address: string) => !opts.allowPrivate && isPrivateAddress(address) && !opts.trusted?.includes(address);
  // An address in the URL is connected to without a lookup: it is checked here.
  if (isIP(host) && isRefused(host)) throw refused(host);
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, {
      agent: false,
      signal,
      lookup: opts.allowPrivate ? undefined : guardedLookup(isRefused),
      headers: {
        "user-agent": "ai-hub knowledge import",
        accept: "text/html,application/xhtml+xml,*/*;q=0.8",
        "accept-encoding": "gzip, deflate, br",
      },
    });
    req.on("socket", (socket) =>
      socket.on("connect", () => {
        if (isRefused(socket.remoteAddress ?? "")) req.destroy(refused(socket.remoteAddress ?? host));
      }),
    );
    req.on("response", resolve);
    req.on("error", (err) => reject(reason(err, raw, opts.timeoutMs)));
  });
}

/** Connection failures that may well pass: a server restarting, a network hiccup, a slow resolver. */
const TRANSIENT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

function reason(err: Error, url: string, timeoutMs: number): HubError {
  if (err instanceof HubError) return err;
  if (err.name === "AbortError" || err.name === "TimeoutError")
    return new PageUnavailable(`The URL did not answer within ${timeoutMs} ms: ${url}`);
  const code = (err as NodeJS.ErrnoException).code;
  const message = `The URL cannot be reached (${code ?? err.message}): ${url}`;
  return code && TRANSIENT_CODES.has(code) ? new PageUnavailable(message) : unprocessable(message);
}

/** The body, decompressed, refused once it grows past `maxBytes`. */
function readBody(res: IncomingMessage, maxBytes: number, url: string): Promise<Buffer> {
  const tooLarge = () => unprocessable(`The page is larger than ${maxBytes} bytes (INGEST_MAX_BYTES): ${url}`);
  if (Number(res.headers["content-length"]) > maxBytes) {
    res.destroy();
    return Promise.reject(tooLarge());
  }
  const encoding = String(res.headers["content-encoding"] ?? "").toLowerCase();
  const stream =
    encoding === "gzip" || encoding === "x-gzip"
      ? res.pipe(zlib.createGunzip())
      : encoding === "deflate"
        ? res.pipe(zlib.createInflate())
        : encoding === "br"
          ? res.pipe(zlib.createBrotliDecompress())
          : res;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        stream.destroy();
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", (err) => reject(unprocessable(`The page could not be read (${err.message}): ${url}`)));
    // The connection dropped (or timed out) mid-body: worth another try, unlike a body that cannot be decoded.
    res.on("error", (err) => reject(new PageUnavailable(`The page could not be read (${err.message}): ${url}`)));
  });
}
