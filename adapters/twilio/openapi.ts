import { z } from "zod";
import { managementErrors } from "../../src/http/management-error";
import { KEY_OR_CONSOLE, type Operation } from "../../src/http/openapi";
import { incomingMessage, statusCallback } from "./inbound";
import { bindingRequest } from "./numbers-api";
import { transcriptionRequest, transcriptionSettings } from "./transcription-api";

// The Twilio channel's routes for the OpenAPI document: its webhooks (form posts signed by Twilio, answered
// in TwiML or plain text for Twilio's debugger) and its numbers API (the management API's style).

const tag = "Twilio";
const FORM = "application/x-www-form-urlencoded";
const text = (description: string) => ({ description, schema: z.string(), contentType: "text/plain" });
const webhookErrors: Operation["responses"] = {
  400: text("Not a Twilio request of this kind"),
  403: text("Invalid or missing X-Twilio-Signature"),
};
const numberParam = z.object({ number: z.string().describe("The receiving number, E.164 (`+15551234567`)") });
const binding = z.object({
  number: z.string(),
  orgId: z.string(),
  assistantId: z.string(),
  assistantName: z.string(),
  reengagementTemplate: z
    .object({ contentSid: z.string(), variables: z.record(z.string(), z.string()).optional() })
    .nullable()
    .describe("Sent when a reply would fall outside WhatsApp's 24-hour window"),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const errors = managementErrors({
  403: "`forbidden`: the number is assigned to another org; with the console's cookie, an agent (only an admin may) or a cross-site request",
  404: "`not_found`: no such assistant, org or binding",
});

export const twilioOperations: Operation[] = [
  {
    tag,
    method: "post",
    path: "/webhooks/twilio",
    operationId: "twilioIncomingMessage",
    summary: "Twilio's incoming-message webhook (WhatsApp or SMS): stored and queued; the reply is sent later through Twilio's API",
    description: "A rate-limited sender is told so in a TwiML `<Message>`; other refusals are plain text for Twilio's debugger.",
    auth: ["twilioSignature"],
    otherBodies: { [FORM]: incomingMessage },
    responses: {
      200: { description: "Accepted: an empty TwiML `<Response/>`", schema: z.string(), contentType: "text/xml" },
      ...webhookErrors,
      503: text("The hub is overloaded: nothing was stored; Twilio retries"),
    },
  },
  {
    tag,
    method: "post",
    path: "/webhooks/twilio/status",
    operationId: "twilioStatusCallback",
    summary: "Twilio's status callback for a message part the hub sent (queued, sent, delivered, read, failed)",
    auth: ["twilioSignature"],
    query: z.object({ part: z.uuid().optional().describe("The part the callback is for, as the hub set it in the callback URL") }),
    otherBodies: { [FORM]: statusCallback },
    responses: { 204: { description: "Recorded (or not one of the hub's messages: nothing to do)" }, ...webhookErrors },
  },
  {
    tag,
    method: "get",
    path: "/api/twilio/numbers",
    operationId: "listTwilioNumbers",
    auth: KEY_OR_CONSOLE,
    summary: "The org's receiving numbers and the assistant each is bound to (a key of the default org: every org's)",
    responses: { 200: { description: "The bindings", schema: z.object({ numbers: z.array(binding) }) }, ...errors(401, 403) },
  },
  {
    tag,
    method: "put",
    path: "/api/twilio/numbers/{number}",
    operationId: "bindTwilioNumber",
    auth: KEY_OR_CONSOLE,
    summary: "Bind a receiving number to an assistant (a key of the default org assigns numbers to orgs with `org_id`)",
    pathParams: numberParam,
    body: bindingRequest,
    responses: { 200: { description: "The binding", schema: binding }, ...errors(400, 401, 403, 404) },
  },
  {
    tag,
    method: "delete",
    path: "/api/twilio/numbers/{number}",
    operationId: "unbindTwilioNumber",
    auth: KEY_OR_CONSOLE,
    summary: "Unbind a number: the default org's `default` assistant answers it again",
    pathParams: numberParam,
    responses: { 204: { description: "Unbound" }, ...errors(401, 403, 404) },
  },
  {
    tag,
    method: "put",
    path: "/api/twilio/transcription",
    operationId: "setTranscription",
    summary: "The org's own transcription service for its users' voice notes, instead of the hub's (null base_url: the hub's again)",
    body: transcriptionRequest,
    responses: {
      200: { description: "The settings (the key only as set or not)", schema: transcriptionSettings },
      ...errors(400, 401),
    },
  },
];
