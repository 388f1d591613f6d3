import { randomBytes } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One message the fake accepted, as Twilio would have sent it. */
export interface TwilioSend {
  sid: string;
  from: string;
  to: string;
  body: string;
  /** A template sent instead of a body, and its variables (JSON). */
  contentSid?: string;
  contentVariables?: string;
  statusCallback?: string;
  receivedAt: number;
}

export interface FakeTwilio {
  /** Base URL standing in for https://api.twilio.com (TWILIO_API_BASE_URL). */
  url: string;
  accountSid: string;
  authToken: string;
  /** Messages accepted, in arrival order. */
  sends: TwilioSend[];
  /** Every create request received, refused ones included, in arrival order. */
  attempts: { body: string; status: number; receivedAt: number }[];
  /** The next n creates answer 500 (after `after` creates answered as usual). */
  failNext(n: number, after?: number): void;
  /** The next create answers 429 (or `status`, such as 503) with this Retry-After (seconds). */
  throttleNext(retryAfterSeconds: number, status?: 429 | 503): void;
  /** Accepted creates are answered this long after they arrive (a slow API: the send is in flight meanwhile). */
  setDelay(ms: number): void;
  /** Every create to `to` is refused with 400 and this Twilio error code, as an invalid number is. */
  refuse(to: string, code: number, message: string): void;
  /** WhatsApp's 24-hour window to `to` closed: a free-form create is refused with 63016, a template goes. */
  closeWindow(to: string): void;
  openWindow(to: string): void;
  /** Serves `data` as a message's media (behind the account's Basic auth, as Twilio's); returns its URL. */
  addMedia(contentType: string, data: Buffer): string;
  /** Media downloads, refused ones included. */
  mediaFetches: { url: string; status: number }[];
  /** The next n media downloads answer 500. */
  failMedia(n: number): void;
  /**
   * Twilio down until up(): "503", every create answers 503 Service Unavailable; "closed", nothing listens on
   * the port (connections are refused, open ones dropped).
   */
  down(how: "503" | "closed"): Promise<void>;
  /** Back up, on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

type Plan = { status: 201 } | { status: 500 } | { status: 429 | 503; retryAfter: number };
type Outage = "503" | "closed" | null;

/**
 * A real HTTP server speaking the part of Twilio's REST API the hub uses: POST
 * /2010-04-01/Accounts/{AccountSid}/Messages.json, with Basic auth and form fields, answering Twilio-shaped
 * JSON and Twilio's error bodies ({code, message, more_info, status}).
 */
export async function startFakeTwilio(): Promise<FakeTwilio> {
  const accountSid = `AC${randomBytes(16).toString("hex")}`;
  const authToken = randomBytes(16).toString("hex");
  const sends: TwilioSend[] = [];
  const attempts: FakeTwilio["attempts"] = [];
  const plans: Plan[] = [];
  const refusals = new Map<string, { code: number; message: string }>();
  let outage: Outage = null;
  let delayMs = 0;
  const closedWindows = new Set<string>();
  const media = new Map<string, { contentType: string; data: Buffer }>();
  const mediaFetches: FakeTwilio["mediaFetches"] = [];
  let mediaFailures = 0;

  const server = createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
    const served = req.method === "GET" ? media.get(req.url ?? "") : undefined;
    if (served) {
      const status = req.headers.authorization !== expected ? 401 : mediaFailures > 0 ? 500 : 200;
      mediaFetches.push({ url: req.url ?? "", status });
      if (status === 401) return twilioError(res, 401, 20003, "Authenticate");
      if (status === 500) {
        mediaFailures--;
        return twilioError(res, 500, 20500, "Internal Server Error");
      }
      res.writeHead(200, { "content-type": served.contentType, "content-length": String(served.data.length) });
      return res.end(served.data);
    }
    if (req.method !== "POST" || req.url !== path) return twilioError(res, 404, 20404, "The requested resource was not found");
    if (req.headers.authorization !== expected) return twilioError(res, 401, 20003, "Authenticate");
    if (!String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) {
      return twilioError(res, 400, 20001, "Expected a form-encoded body");
    }
    const form = new URLSearchParams(raw);
    const [to, from, body, contentSid] = [form.get("To"), form.get("From"), form.get("Body"), form.get("ContentSid")];
    if (outage === "503") {
      attempts.push({ body: body ?? "", status: 503, receivedAt: Date.now() });
      return twilioError(res, 503, 20503, "Service Unavailable");
    }
    const plan = plans.shift();
    const refusal = to ? refusals.get(to) : undefined;
    const status = plan && plan.status !== 201 ? plan.status : refusal ? 400 : 201;
    attempts.push({ body: body ?? "", status, receivedAt: Date.now() });
    if (!to) return twilioError(res, 400, 21604, "A 'To' phone number is required.");
    if (!from) return twilioError(res, 400, 21603, "A 'From' phone number is required.");
    if (!body && !contentSid) return twilioError(res, 400, 21602, "Message body is required.");
    if (body && body.length > 1600) return twilioError(res, 400, 21617, "The concatenated message body exceeds the 1600 character limit.");
    if (plan?.status === 500) return twilioError(res, 500, 20500, "Internal Server Error");
    if (plan?.status === 429) return twilioError(res, 429, 20429, "Too Many Requests", { "retry-after": String(plan.retryAfter) });
    if (plan?.status === 503) return twilioError(res, 503, 20503, "Service Unavailable", { "retry-after": String(plan.retryAfter) });
    if (refusal) return twilioError(res, 400, refusal.code, refusal.message);
    if (!contentSid && closedWindows.has(to)) {
      return twilioError(res, 400, 63016, "Failed to send freeform message because you are outside the allowed window.");
    }

    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const sid = `SM${randomBytes(16).toString("hex")}`;
    sends.push({
      sid,
      from,
      to,
      body: body ?? "",
      ...(contentSid ? { contentSid, contentVariables: form.get("ContentVariables") ?? undefined } : {}),
      statusCallback: form.get("StatusCallback") ?? undefined,
      receivedAt: Date.now(),
    });
    const now = new Date().toUTCString();
    sendJson(res, 201, {
      sid,
      account_sid: accountSid,
      from,
      to,
      body: body ?? "",
      status: "queued",
      direction: "outbound-api",
      num_segments: String(Math.max(1, Math.ceil((body ?? "").length / 153))),
      num_media: "0",
      date_created: now,
      date_updated: now,
      date_sent: null,
      error_code: null,
      error_message: null,
      api_version: "2010-04-01",
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    });
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  };
  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    sends,
    attempts,
    failNext: (n, after = 0) => {
      for (let i = 0; i < after; i++) plans.push({ status: 201 });
      for (let i = 0; i < n; i++) plans.push({ status: 500 });
    },
    throttleNext: (retryAfter, status = 429) => plans.push({ status, retryAfter }),
    setDelay: (ms) => {
      delayMs = ms;
    },
    refuse: (to, code, message) => refusals.set(to, { code, message }),
    closeWindow: (to) => closedWindows.add(to),
    openWindow: (to) => closedWindows.delete(to),
    addMedia: (contentType, data) => {
      const path = `/2010-04-01/Accounts/${accountSid}/Messages/MM${randomBytes(16).toString("hex")}/Media/ME${randomBytes(16).toString("hex")}`;
      media.set(path, { contentType, data });
      return `http://127.0.0.1:${port}${path}`;
    },
    mediaFetches,
    failMedia: (n) => {
      mediaFailures = n;
    },
    down: async (how) => {
      outage = how;
      if (how === "closed") await stop();
    },
    up: async () => {
      if (outage === "closed") await listen(port);
      outage = null;
    },
    close: async () => {
      if (outage !== "closed") await stop();
    },
  };
}

function sendJson(res: ServerResponse, status: number, payload: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(payload));
}

function twilioError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, headers);
}
