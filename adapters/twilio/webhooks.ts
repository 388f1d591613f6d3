import express, { type ErrorRequestHandler, type Request, type Response, Router } from "express";
import twilio from "twilio";
import type { ChannelRegistry } from "../../src/channels";
import { fieldIssues, invalid } from "../../src/errors";
import { toHubError } from "../../src/http/body";
import { accept, type HubDeps } from "../../src/hub";
import { recordPartStatus, UNSENT } from "../../src/outbound";
import { refusedAfterSending } from "../../src/window";
import { attachmentsOf, incomingMessage, statusCallback, toInbound } from "./inbound";
import type { NumberRoutes } from "./numbers";
import { OUTSIDE_WINDOW } from "./sender";
import { requireTwilioSignature } from "./signature";

// POST /webhooks/twilio: an incoming WhatsApp or SMS message. Stored and queued, then answered at once with
// an empty TwiML <Response/>: the reply is sent later by the deliver worker, through the REST API.
// POST /webhooks/twilio/status: a status callback of a part we sent (queued, sent, delivered, read, failed).

export interface TwilioWebhookDeps {
  hub: HubDeps;
  authToken: string;
  publicUrl: string;
  routes: NumberRoutes;
  channels: ChannelRegistry;
}

const EMPTY_TWIML = new twilio.twiml.MessagingResponse().toString();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function twilioWebhooks(deps: TwilioWebhookDeps): Router {
  const router = Router();
  const verified = [express.urlencoded({ extended: false, limit: "64kb" }), requireTwilioSignature(deps.authToken, deps.publicUrl)];

  router.post("/webhooks/twilio", ...verified, async (req: Request, res: Response) => {
    const parsed = incomingMessage.safeParse(req.body);
    if (!parsed.success) throw invalid("Not a Twilio incoming message", fieldIssues(parsed.error.issues));
    const m = parsed.data;
    const route = await deps.routes.route(m.To);
    const accepted = await accept(deps.hub, toInbound(m, attachmentsOf(req.body, m.NumMedia), route));
    // The user wrote: their window is open again, and the replies held for it, released in the statement that
    // stored the message, go out first (src/window.ts). Lost here (a crash, Redis away, a batch run again one
    // message at a time after its first statement committed), they are unsent in Postgres and the outbox sends them.
    await Promise.all(accepted.released.map((id) => deps.channels.deliver({ id, status: UNSENT }))).catch(() => {});
    res.type("text/xml").send(EMPTY_TWIML);
  });

  router.post("/webhooks/twilio/status", ...verified, async (req: Request, res: Response) => {
    const parsed = statusCallback.safeParse(req.body);
    if (!parsed.success) throw invalid("Not a Twilio status callback", fieldIssues(parsed.error.issues));
    const { MessageSid, MessageStatus, ErrorCode, ErrorMessage } = parsed.data;
    const part = typeof req.query.part === "string" && UUID.test(req.query.part) ? req.query.part : null;
    const error = ErrorCode ? `Twilio error ${ErrorCode}${ErrorMessage ? `: ${ErrorMessage}` : ""}` : undefined;
    // Taken, then refused for WhatsApp's window: the reply is held for the user's next message, as a send
    // refused so is (src/window.ts). A repeat of this callback finds nothing more to do.
    if (error && Number(ErrorCode) === OUTSIDE_WINDOW) {
      await refusedAfterSending(deps.hub, deps.channels, MessageSid, error);
      return void res.status(204).end();
    }
    // A callback for a message this hub did not send is acknowledged all the same: there is nothing to retry.
    const update = { status: MessageStatus, providerId: MessageSid, error };
    await (part ? deps.hub.deliveries.record(part, update) : recordPartStatus(deps.hub.prisma, { providerId: MessageSid }, update));
    res.status(204).end();
  });

  router.use("/webhooks/twilio", webhookErrors(deps));
  return router;
}

/**
 * Twilio only logs what a webhook answers, so a refusal the user should hear about (too many messages) is
 * said to them in TwiML; the rest get their status and a line of text for the Twilio debugger.
 */
function webhookErrors(deps: TwilioWebhookDeps): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const e = toHubError(err);
    if (!e) {
      deps.hub.logger.error({ err }, "twilio webhook failed");
      res.status(500).type("text/plain").send("Internal error");
      return;
    }
    if (e.code === "rate_limited") {
      const twiml = new twilio.twiml.MessagingResponse();
      twiml.message("You are sending messages too quickly; please wait a minute and try again.");
      res.type("text/xml").send(twiml.toString());
      return;
    }
    if (e.details.retryAfter) res.setHeader("Retry-After", String(e.details.retryAfter));
    res.status(e.status).type("text/plain").send(e.message);
  };
}
