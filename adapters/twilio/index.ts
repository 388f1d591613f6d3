import type { Queue } from "bullmq";
import type { Router } from "express";
import type { KeyRing } from "../../src/auth/keys";
import { Batcher } from "../../src/batch";
import type { Message } from "../../src/generated/prisma/client";
import type { HubDeps } from "../../src/hub";
import { NumberRoutes } from "../../src/numbers";
import type { ApiSender } from "../../src/outbound";
import { type DeliverJob, enqueueDeliveries } from "../../src/queue";
import { cameThroughTwilio } from "./inbound";
import { twilioNumbersApi } from "./numbers";
import { createTwilioSender } from "./sender";
import { twilioWebhooks } from "./webhooks";

// The WhatsApp/SMS channel through Twilio. Inbound: webhooks.ts (signature.ts, inbound.ts for the mapping).
// Outbound: sender.ts (render.ts writes the Markdown reply in WhatsApp or SMS style, split.ts cuts it to
// the 1600-character limit), driven by workers/deliver.ts.

export interface TwilioChannelDeps {
  hub: HubDeps;
  keys: KeyRing;
  deliverQueue: Queue<DeliverJob>;
  accountSid: string;
  authToken: string;
  publicUrl: string;
  apiBaseUrl?: string;
}

export interface TwilioChannel {
  /** The webhooks and the number-binding API. */
  routers: Router[];
  sender: ApiSender;
  /** The turn pipeline's onReply hook: hands replies to Twilio users to the deliver queue. */
  onReply(reply: Message, turn: Message): Promise<void>;
}

export function createTwilioChannel(deps: TwilioChannelDeps): TwilioChannel {
  const routes = new NumberRoutes(deps.hub.prisma);
  const deliveries = new Batcher((ids: string[]) => enqueueDeliveries(deps.deliverQueue, ids));
  return {
    routers: [
      twilioWebhooks({ hub: deps.hub, authToken: deps.authToken, publicUrl: deps.publicUrl, routes }),
      twilioNumbersApi({ prisma: deps.hub.prisma, keys: deps.keys, logger: deps.hub.logger, routes }),
    ],
    sender: createTwilioSender(deps),
    async onReply(reply, turn) {
      if (cameThroughTwilio(turn)) await deliveries.submit(reply.id);
    },
  };
}
