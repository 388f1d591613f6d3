import { type FakeOpenAI, startFakeOpenAI } from "../fakes/openai-server";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio-server";
import type { DbKind } from "./databases";
import { startTestHub, type TestHub } from "./hub";
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
