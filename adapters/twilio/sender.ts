import twilio from "twilio";
import type { ChannelSender } from "../../src/channels";
import type { Db } from "../../src/db/database";
import { DeliveryError } from "../../src/outbound";
import { MediaTooLarge } from "../../src/voice";
import { TwilioHttpClient } from "./http-client";
import { goesToWhatsApp, replyAddresses } from "./inbound";
import { normalizeNumber } from "./numbers";
import { toPlainText, toWhatsApp } from "./render";
import { splitBody, splitWhatsApp } from "./split";

export interface TwilioSenderOptions {
  accountSid: string;
  authToken: string;
  /** Where Twilio reaches the hub: the status callback of each part is `<publicUrl>/webhooks/twilio/status`. */
  publicUrl: string;
  apiBaseUrl?: string;
  timeoutMs?: number;
  /** Where each number's re-engagement template is read (numbers.ts). */
  prisma: Db;
  /** Messages a second Twilio takes from one WhatsApp sender, and from one SMS number (see src/pace.ts). */
  perSecond: { whatsapp: number; sms: number };
}

// Refusals no retry can turn into a send, whatever HTTP status carried them: invalid or unreachable number,
// the recipient opted out, WhatsApp's 24-hour window closed, a country not enabled on the account.
const PERMANENT_CODES = new Set([21211, 21408, 21610, 21612, 21614, 63003, 63016]);
// "Failed to send freeform message because you are outside the allowed window": the reply is held (src/window.ts).
export const OUTSIDE_WINDOW = 63016;

// WhatsApp delivers a free-form message only within 24 hours of the user's last message (Meta's customer
// service window); after that only an approved template. SMS has no such window.
const WHATSAPP_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Messages go back from the number the user wrote to, to the user, one Twilio message per part. */
export function createTwilioSender(opts: TwilioSenderOptions): ChannelSender {
  const client = twilio(opts.accountSid, opts.authToken, {
    httpClient: new TwilioHttpClient(opts.apiBaseUrl, opts.timeoutMs ?? 15_000),
  });
  return {
    via: "twilio",
    // WhatsApp reads its own markup; an SMS shows every character as it is.
    split: (content, address) => {
      const whatsApp = goesToWhatsApp(address);
      // A reply that renders to nothing (only a link definition, only a comment) goes as written: Twilio
      // refuses an empty body.
      const rendered = (whatsApp ? toWhatsApp(content) : toPlainText(content)).trim() || content;
      return whatsApp ? splitWhatsApp(rendered) : splitBody(rendered);
    },
    freeFormWindowMs: (address) => (goesToWhatsApp(address) ? WHATSAPP_WINDOW_MS : null),
    async reengagement(address) {
      const number = normalizeNumber(address.from);
      const row = number ? await opts.prisma.twilioNumber.findUnique({ where: { number } }) : null;
      if (!row?.reengagementContentSid) return null;
      return {
        contentSid: row.reengagementContentSid,
        variables: (row.reengagementVariables ?? undefined) as Record<string, string> | undefined,
      };
    },
    fetchMedia: (url, maxBytes) => fetchMedia(opts, url, maxBytes),
    sendsPerSecond: (address) => (goesToWhatsApp(address) ? opts.perSecond.whatsapp : opts.perSecond.sms),
    async send(part, address, template) {
      const { from, to } = replyAddresses(address);
      const content = template
        ? { contentSid: template.contentSid, ...(template.variables ? { contentVariables: JSON.stringify(template.variables) } : {}) }
        : { body: part.body };
      try {
        const sent = await client.messages.create({
          from,
          to,
          ...content,
          // Names the part, so that its callback records the SID even if the process dies before this send's
          // answer is stored: a retried job then knows Twilio has it and does not send it again.
          statusCallback: `${opts.publicUrl}/webhooks/twilio/status?part=${part.id}`,
        });
        return { providerId: sent.sid, status: sent.status ?? "queued" };
      } catch (err) {
        throw classify(err);
      }
    },
  };
}

/**
 * A user's media, with the account's Basic auth (Twilio's media URLs require it). Only from Twilio's own API
 * (or the configured stand-in): the credentials never go to another host, whatever URL a message carries.
 */
async function fetchMedia(opts: TwilioSenderOptions, url: string, maxBytes: number): Promise<{ contentType: string; data: Buffer }> {
  const api = new URL(opts.apiBaseUrl ?? "https://api.twilio.com");
  if (new URL(url).origin !== api.origin) throw new Error(`media URL ${url} is not Twilio's`);
  // A redirect to Twilio's media store drops the Authorization header (another origin), as it should.
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString("base64")}` },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
  });
  if (!res.ok) throw new Error(`media download: HTTP ${res.status}`);
  if (Number(res.headers.get("content-length") ?? 0) > maxBytes) throw new MediaTooLarge(`media over ${maxBytes} bytes`);
  const data = Buffer.from(await res.arrayBuffer());
  if (data.length > maxBytes) throw new MediaTooLarge(`media over ${maxBytes} bytes`);
  return { contentType: res.headers.get("content-type") ?? "application/octet-stream", data };
}

function classify(err: unknown): DeliveryError {
  const e = err as { status?: number; code?: number; message?: string; retryAfterMs?: number };
  if (typeof e.status !== "number") return new DeliveryError(`Twilio unreachable: ${e.message}`, false);
  const message = `Twilio ${e.status}${e.code ? ` error ${e.code}` : ""}: ${e.message}`;
  const retryable = e.status === 408 || e.status === 429 || e.status >= 500;
  const permanent = !retryable || PERMANENT_CODES.has(Number(e.code));
  return new DeliveryError(message, permanent, e.retryAfterMs, Number(e.code) === OUTSIDE_WINDOW ? "outside_window" : undefined);
}
