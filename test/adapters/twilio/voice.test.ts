import { oggSeconds } from "../../../src/voice";
import type { FakeOpenAI } from "../../fakes/openai-server";
import type { FakeTwilio } from "../../fakes/twilio-server";
import type { TestHub } from "../../support/hub";
import { waitFor } from "../../support/processes";
import { postWebhook, whatsapp } from "../../support/twilio";
import { startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

const HUB_NUMBER = "+14155238886";
const NO_VOICE = "Please type, I cannot listen.";

/** An Ogg stream's first and last page headers: enough for its length (the last page's granule, 48 kHz). */
function ogg(seconds: number): Buffer {
  const page = (granule: number) => {
    const header = Buffer.alloc(27);
    header.write("OggS", 0);
    header.writeBigUInt64LE(BigInt(granule), 6);
    return header;
  };
  return Buffer.concat([page(0), Buffer.alloc(2000, 7), page(seconds * 48_000)]);
}

describe("WhatsApp voice notes", () => {
  let setup: TwilioHub;
  let hub: TestHub;
  let twilio: FakeTwilio;
  let openai: FakeOpenAI;
  let n = 0;
  const newUser = () => `+1999${String(++n).padStart(7, "0")}`;

  beforeAll(async () => {
    setup = await startTwilioHub("postgres", {
      VOICE_NOTE_REPLY: NO_VOICE,
      VOICE_NOTE_MAX_SECONDS: "120",
      TRANSCRIBE_MODEL: "whisper-test",
    });
    ({ hub, twilio, openai } = setup);
  });
  afterAll(() => setup?.stop());

  const sendsTo = (user: string) => twilio.sends.filter((s) => s.to === `whatsapp:${user}`);
  const voiceNote = (user: string, data: Buffer) => {
    const url = twilio.addMedia("audio/ogg", data);
    const form = whatsapp(user, HUB_NUMBER, "", { NumMedia: "1", MediaUrl0: url, MediaContentType0: "audio/ogg" });
    return { url, post: () => postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", form) };
  };
  const userMessage = (user: string) =>
    hub.runtime.db.prisma.message.findFirstOrThrow({ where: { role: "user", conversation: { externalId: `whatsapp_${user}` } } });
  const fetchesOf = (url: string) => twilio.mediaFetches.filter((f) => url.endsWith(f.url)).map((f) => f.status);

  it("reads the length of an Ogg recording, and nothing from other data", () => {
    expect(oggSeconds(ogg(42))).toBe(42);
    expect(oggSeconds(Buffer.from("ID3 not ogg"))).toBeNull();
  });

  it("without a transcription service, answers a voice note with the configured reply", async () => {
    const user = newUser();
    const note = voiceNote(user, ogg(5));
    expect((await note.post()).status).toBe(200);
    await waitFor(() => sendsTo(user).length, 15_000, "the reply");
    expect(sendsTo(user)[0].body).toBe(NO_VOICE);
    expect(openai.requests.some((r) => JSON.stringify(r.body).includes("audio/ogg"))).toBe(false);
  });

  describe("with a transcription service", () => {
    beforeAll(() => {
      hub.runtime.turns.voice = {
        ...(hub.runtime.turns.voice as NonNullable<typeof hub.runtime.turns.voice>),
        transcription: { baseUrl: openai.url, model: "whisper-test" },
      };
    });

    it("transcribes a voice note, downloaded once with the account's credentials, and answers its words", async () => {
      const user = newUser();
      openai.setTranscript("what time do you open");
      const note = voiceNote(user, ogg(7));
      await note.post();
      await waitFor(() => sendsTo(user).length, 15_000, "the reply");
      expect(sendsTo(user)[0].body).toBe("Echo: what time do you open");
      expect(fetchesOf(note.url)).toEqual([200]);
      expect(openai.transcriptions.at(-1)).toMatchObject({ model: "whisper-test", fileType: "audio/ogg", fileSize: ogg(7).length });
      const stored = await userMessage(user);
      expect(stored).toMatchObject({
        content: "what time do you open",
        metadata: expect.objectContaining({ voice: { transcribed: true, contentType: "audio/ogg", size: ogg(7).length, seconds: 7 } }),
        attachments: [expect.objectContaining({ contentType: "audio/ogg", size: ogg(7).length })],
      });
    });

    it("retries a failed download and a failed transcription, and loses nothing", async () => {
      const user = newUser();
      openai.setTranscript("second try");
      twilio.failMedia(1);
      openai.failTranscriptions(1);
      const note = voiceNote(user, ogg(3));
      await note.post();
      await waitFor(() => sendsTo(user).length, 30_000, "the reply");
      expect(sendsTo(user)[0].body).toBe("Echo: second try");
      // The download that succeeded is kept: the retry after the transcription failed did not fetch again.
      expect(fetchesOf(note.url)).toEqual([500, 200]);
    });

    it("answers a voice note over the length limit with the configured reply, without transcribing it", async () => {
      const user = newUser();
      const before = openai.transcriptions.length;
      await voiceNote(user, ogg(600)).post();
      await waitFor(() => sendsTo(user).length, 15_000, "the reply");
      expect(sendsTo(user)[0].body).toBe(NO_VOICE);
      expect(openai.transcriptions).toHaveLength(before);
    });
  });
});
