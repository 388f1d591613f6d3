import RequestClient from "twilio/lib/base/RequestClient";
import type Response from "twilio/lib/http/response";
import { DeliveryError } from "../../src/outbound";

const TWILIO_API = /^https:\/\/api\.twilio\.com/;

/**
 * The HTTP client handed to the twilio package (its `httpClient` option, the package's own extension point).
 * It sends to `baseUrl` instead of api.twilio.com when one is configured, and turns a 429 into a retryable
 * DeliveryError carrying Retry-After, which the package's RestException would drop.
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
    if (res.statusCode === 429) {
      throw new DeliveryError("Twilio answered 429 Too Many Requests", false, retryAfterMs(res.headers["retry-after"]));
    }
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
