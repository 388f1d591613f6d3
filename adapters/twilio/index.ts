import type { KeyRing } from "../../src/auth/keys";
import type { OperatorSessions } from "../../src/auth/operators";
import type { Channel, ChannelRegistry } from "../../src/channels";
import type { HubDeps } from "../../src/hub";
import { twilioMessageOperations, twilioMessagesApi } from "./messages-api";
import { NumberRoutes } from "./numbers";
import { twilioNumbersApi } from "./numbers-api";
import { twilioOperations } from "./openapi";
import { createTwilioSender } from "./sender";
import { twilioTranscriptionApi } from "./transcription-api";
import { twilioWebhooks } from "./webhooks";

// The WhatsApp/SMS channel through Twilio. Inbound: webhooks.ts (signature.ts, inbound.ts for the mapping),
// routed by the number written to (numbers.ts, bound through numbers-api.ts and commands.ts).
// Outbound: sender.ts (render.ts writes the Markdown reply in WhatsApp or SMS style, split.ts cuts it to
// the 1600-character limit), driven by workers/deliver.ts for every message to a Twilio reply address.

export interface TwilioChannelDeps {
  hub: HubDeps;
  keys: KeyRing;
  /** The console's signed-in operators: an admin manages the org's numbers as a key does. */
  sessions: OperatorSessions;
  accountSid: string;
  authToken: string;
  publicUrl: string;
  apiBaseUrl?: string;
  /** Messages a second Twilio takes from one WhatsApp sender and from one SMS number. */
  perSecond: { whatsapp: number; sms: number };
  /** Where the messages the business writes (proactive ones, held replies released) are handed to be sent. */
  channels: ChannelRegistry;
  /** An org's transcription service may be on the hub's own network (INGEST_ALLOW_PRIVATE_URLS). */
  allowPrivateUrls: boolean;
}

export function createTwilioChannel(deps: TwilioChannelDeps): Channel {
  const routes = new NumberRoutes(deps.hub.prisma);
  return {
    name: "twilio",
    routers: [
      twilioWebhooks({ hub: deps.hub, authToken: deps.authToken, publicUrl: deps.publicUrl, routes, channels: deps.channels }),
      twilioNumbersApi({ prisma: deps.hub.prisma, keys: deps.keys, sessions: deps.sessions, logger: deps.hub.logger, routes }),
      twilioTranscriptionApi({
        prisma: deps.hub.prisma,
        keys: deps.keys,
        logger: deps.hub.logger,
        allowPrivateUrls: deps.allowPrivateUrls,
      }),
      twilioMessagesApi({ prisma: deps.hub.prisma, keys: deps.keys, logger: deps.hub.logger, channels: deps.channels }),
    ],
    operations: [...twilioOperations, ...twilioMessageOperations],
    sender: createTwilioSender({ ...deps, prisma: deps.hub.prisma }),
  };
}
