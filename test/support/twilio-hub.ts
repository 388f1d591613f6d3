import { type FakeOpenAI, startFakeOpenAI } from "../fakes/openai-server";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio-server";
import type { DbKind } from "./databases";
import { startTestHub, type TestHub } from "./hub";
import { waitFor } from "./processes";
import { twilioEnv } from "./twilio";

export interface TwilioHub {
  hub: TestHub;
  openai: FakeOpenAI;
  twilio: FakeTwilio;
  stop(): Promise<void>;
}

/** A hub that answers with the fake OpenAI server and sends through the fake Twilio API; `env` adds to it. */
export async function startTwilioHub(kind: DbKind, env: Record<string, string> = {}): Promise<TwilioHub> {
  const [openai, twilio] = await Promise.all([startFakeOpenAI(), startFakeTwilio()]);
  const hub = await startTestHub(kind, { ASSISTANT_PROVIDER: "openai", OPENAI_BASE_URL: openai.url, ...twilioEnv(twilio), ...env });
  return {
    hub,
    openai,
    twilio,
    async stop() {
      await hub.stop();
      await Promise.all([openai.close(), twilio.close()]);
    },
  };
}

/**
 * Waits until a stored business-side message has gone to Twilio and its delivery job is settled (done, gone with
 * a Redis that restarted empty, or never needed: sent by the process that stored it): after this, a second send
 * of it would have shown.
 */
export async function delivered(hub: TestHub, messageId: string): Promise<void> {
  const prisma = hub.runtime.db.prisma;
  await waitFor(
    async () => (await prisma.message.findUniqueOrThrow({ where: { id: messageId } })).status !== "unsent",
    30_000,
    `message ${messageId} to be sent`,
  );
  await waitFor(async () => ["completed", "unknown"].includes(await hub.runtime.deliverQueue.getJobState(messageId)));
}
