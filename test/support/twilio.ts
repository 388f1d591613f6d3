import { randomBytes } from "node:crypto";
import twilio from "twilio";
import type { FakeTwilio } from "../fakes/twilio-server";

/** The URL Twilio is told to call; the hub itself listens elsewhere, as behind a proxy or a tunnel. */
export const PUBLIC_URL = "https://hub.example.test";

/** The hub's environment for the Twilio channel, sending to the fake API. */
export const twilioEnv = (fake: FakeTwilio) => ({
  TWILIO_ACCOUNT_SID: fake.accountSid,
  TWILIO_AUTH_TOKEN: fake.authToken,
  PUBLIC_URL,
  TWILIO_API_BASE_URL: fake.url,
});

export const messageSid = () => `SM${randomBytes(16).toString("hex")}`;

/** The form fields of Twilio's incoming-message request for a WhatsApp message. */
export function whatsapp(from: string, to: string, body: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MessageSid: messageSid(),
    SmsMessageSid: "",
    AccountSid: "AC00000000000000000000000000000000",
    From: `whatsapp:${from}`,
    To: `whatsapp:${to}`,
    Body: body,
    NumMedia: "0",
    NumSegments: "1",
    ProfileName: "Ana",
    WaId: from.slice(1),
    ApiVersion: "2010-04-01",
    ...extra,
  };
}

/**
 * A webhook request the way Twilio makes it: form-encoded, signed over PUBLIC_URL + path with the account's
 * auth token (the twilio package's own signing function). `signature` overrides it, null sends none.
 */
export function signedWebhook(
  authToken: string,
  path: string,
  params: Record<string, string>,
  signature?: string | null,
): { headers: Record<string, string>; body: string } {
  const sig = signature === undefined ? twilio.getExpectedTwilioSignature(authToken, PUBLIC_URL + path, params) : signature;
  return {
    headers: { "content-type": "application/x-www-form-urlencoded", ...(sig ? { "x-twilio-signature": sig } : {}) },
    body: new URLSearchParams(params).toString(),
  };
}

/** Posts a signed webhook (see signedWebhook) to the hub. */
export async function postWebhook(
  hubUrl: string,
  authToken: string,
  path: string,
  params: Record<string, string>,
  signature?: string | null,
): Promise<{ status: number; body: string; contentType: string | null }> {
  const res = await fetch(hubUrl + path, { method: "POST", ...signedWebhook(authToken, path, params, signature) });
  return { status: res.status, body: await res.text(), contentType: res.headers.get("content-type") };
}
