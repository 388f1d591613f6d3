import { z } from "zod";
import { DeliveryError } from "../../src/outbound";
import type { Attachment, InboundMessage, ReplyAddress } from "../../src/types";

// Twilio's incoming-message request (form fields) onto the canonical message:
//   MessageSid -> externalId (a retried webhook is a no-op)    Body -> content
//   From -> the user: conversation `whatsapp_<number>` or `sms_<number>`, userId, rate-limit key
//   To -> which org and assistant answer (the number's binding)
//   From, To -> replyAddress: the reply goes from To back to From. Only this signed webhook sets it; nothing a
//               caller of another API may set (their `metadata`) ever decides where a reply is sent.
//   MediaUrlN / MediaContentTypeN -> attachments               ProfileName, WaId -> metadata

const MAX_MEDIA = 10;

export const incomingMessage = z.looseObject({
  MessageSid: z.string().regex(/^[A-Z]{2}[0-9a-f]{32}$/, "expected a Twilio message SID"),
  AccountSid: z.string().optional(),
  From: z.string().min(1).max(100),
  To: z.string().min(1).max(100),
  Body: z.string().max(10_000).default(""),
  NumMedia: z.coerce.number().int().min(0).max(MAX_MEDIA).default(0),
  ProfileName: z.string().max(200).optional(),
  WaId: z.string().max(50).optional(),
});
export type IncomingMessage = z.output<typeof incomingMessage>;

export const statusCallback = z.looseObject({
  MessageSid: z.string().min(1),
  MessageStatus: z.string().regex(/^[a-z_]+$/),
  ErrorCode: z.string().optional(),
  ErrorMessage: z.string().optional(),
});

const bare = (address: string) => address.replace(/^whatsapp:/i, "");
const isWhatsApp = (address: string) => /^whatsapp:/i.test(address);

export function attachmentsOf(params: Record<string, unknown>, count: number): Attachment[] {
  const out: Attachment[] = [];
  for (let i = 0; i < count; i++) {
    const url = params[`MediaUrl${i}`];
    if (typeof url !== "string" || !url) continue;
    const type = params[`MediaContentType${i}`];
    out.push({ url, ...(typeof type === "string" && type ? { contentType: type } : {}) });
  }
  return out;
}

export function toInbound(m: IncomingMessage, attachments: Attachment[], route: { orgId: string; assistant: string }): InboundMessage {
  const channel = isWhatsApp(m.From) ? "whatsapp" : "sms";
  const user = bare(m.From);
  // Media alone still asks for an answer; the assistant reads what was sent, the URLs stay on the message.
  const content = m.Body.trim() || attachments.map((a) => `[${a.contentType ?? "attachment"}]`).join(" ");
  return {
    orgId: route.orgId,
    channel,
    conversationKey: `${channel}_${user}`,
    assistant: { ref: route.assistant },
    externalId: m.MessageSid,
    role: "user",
    content,
    attachments,
    metadata: {
      channel,
      phone_number: user,
      ...(m.ProfileName ? { profile_name: m.ProfileName } : {}),
      ...(m.WaId ? { wa_id: m.WaId } : {}),
    },
    userId: user,
    rateKey: m.From,
    replyAddress: { via: "twilio", from: m.To, to: m.From },
    fromPublic: true,
  };
}

/** Where a message to this address goes: recorded from the signed webhook that brought the user's, and nowhere else. */
export function replyAddresses(address: ReplyAddress): { from: string; to: string } {
  if (address.via !== "twilio") throw new DeliveryError(`the address is ${address.via}'s, not Twilio's`, true);
  return { from: address.from, to: address.to };
}

/** Whether a message to this address goes to a WhatsApp user (else an SMS number). */
export const goesToWhatsApp = (address: ReplyAddress) => address.via === "twilio" && isWhatsApp(address.to);
