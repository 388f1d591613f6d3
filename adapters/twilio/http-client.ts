import RequestClient from "twilio/lib/base/RequestClient";
import RestException from "twilio/lib/base/RestException";
import type Response from "twilio/lib/http/response";

const TWILIO_API = /^https:\/\/api\.twilio\.com/;

/**
 * The HTTP client handed to the twilio package (its `httpClient` option, the package's own extension point).
 * It sends to `baseUrl` instead of api.twilio.com when one is configured, and keeps the Retry-After of an
 * error answer (429, 503) on the RestException, which the package builds without the answer's headers.
 */
export class TwilioHttpClient extends RequestClient {
  constructor(
    private readonly baseUrl: string | undefined,
    timeoutMs: number,
  ) {
    super({ timeout: timeoutMs, keepAlive: true });
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<Response<TData>> {
    const uri = this.baseUrl ? opts.uri.replace(TWILIO_API, this.baseUrl.replace(/\/+$/, "")) : opts.uri;
    const res = await super.request<TData>({ ...opts, uri });
    const wait = res.statusCode >= 400 ? retryAfterMs(res.headers["retry-after"]) : undefined;
    if (wait !== undefined) throw Object.assign(new RestException(res), { retryAfterMs: wait });
    return res;
  }
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
