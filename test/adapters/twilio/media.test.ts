import { IMAGES_NOT_READ } from "../../../src/photos";
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

const SEER_NUMBER = "+14155238800";
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

describe("WhatsApp voice notes and photos", () => {
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
      // The longest burst window: messages posted together fall in it however busy the machine.
      WHATSAPP_BURST_MS: "2000",
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

  describe("photos", () => {
    const photo = (user: string, to: string, caption: string) => {
      const url = twilio.addMedia("image/jpeg", JPEG);
      const form = whatsapp(user, to, caption, { NumMedia: "1", MediaUrl0: url, MediaContentType0: "image/jpeg" });
      return { url, post: () => postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", form) };
    };

    beforeAll(async () => {
      expect((await hub.api("/api/assistants", { body: { name: "seer", vision: true } })).status).toBe(201);
      expect((await hub.api(`/api/twilio/numbers/${SEER_NUMBER}`, { method: "PUT", body: { assistant: "seer" } })).status).toBe(200);
    });

    it("passes a photo to an assistant whose model reads images, as an image part, downloaded once", async () => {
      const user = newUser();
      const sent = photo(user, SEER_NUMBER, "is this broken?");
      await sent.post();
      await waitFor(() => sendsTo(user).length, 15_000, "the reply");
      const asked = openai.requests.find((r) => JSON.stringify(r.body).includes("is this broken?"));
      const last = asked?.body.messages.at(-1) as unknown as { content: unknown };
      expect(last.content).toEqual([
        { type: "text", text: "is this broken?" },
        { type: "image_url", image_url: { url: `data:image/jpeg;base64,${JPEG.toString("base64")}` } },
      ]);
      expect(fetchesOf(sent.url)).toEqual([200]);
      const kept = await hub.runtime.db.prisma.media.findMany({ where: { message: { conversation: { externalId: `whatsapp_${user}` } } } });
      expect(kept).toMatchObject([{ contentType: "image/jpeg", size: JPEG.length, position: 0 }]);
    });

    it("answers the caption and says images are not read when the assistant's model does not read them", async () => {
      const user = newUser();
      await photo(user, HUB_NUMBER, "what about this one").post();
      await waitFor(() => sendsTo(user).length, 15_000, "the reply");
      expect(sendsTo(user)[0].body).toBe(`Echo: what about this one\n\n${IMAGES_NOT_READ}`);

      const silent = newUser();
      const before = openai.requests.length;
      const bare = photo(silent, HUB_NUMBER, "");
      await bare.post();
      await waitFor(() => sendsTo(silent).length, 15_000, "the reply");
      expect(sendsTo(silent)[0].body).toBe(IMAGES_NOT_READ);
      expect(openai.requests).toHaveLength(before);
      expect(fetchesOf(bare.url)).toEqual([]);
    });
  });

  describe("bursts with voice notes and photos", () => {
    beforeAll(() => {
      hub.runtime.turns.voice = {
        ...(hub.runtime.turns.voice as NonNullable<typeof hub.runtime.turns.voice>),
        transcription: { baseUrl: openai.url, model: "whisper-test" },
      };
    });
    const media = (user: string, to: string, body: string, contentType: string, data: Buffer) => {
      const url = twilio.addMedia(contentType, data);
      return whatsapp(user, to, body, { NumMedia: "1", MediaUrl0: url, MediaContentType0: contentType });
    };
    const writeAll = (forms: Record<string, string>[]) =>
      Promise.all(forms.map((form) => postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", form)));
    const stored = (user: string) =>
      hub.runtime.db.prisma.message.findMany({ where: { conversation: { externalId: `whatsapp_${user}` } }, orderBy: { seq: "asc" } });

    it("answers text, a voice note and a photo written together in one turn that read the transcript and the image", async () => {
      const user = newUser();
      openai.setTranscript("it arrived broken");
      const posted = await writeAll([
        whatsapp(user, SEER_NUMBER, "hello"),
        media(user, SEER_NUMBER, "", "audio/ogg", ogg(4)),
        media(user, SEER_NUMBER, "", "image/jpeg", JPEG),
      ]);
      expect(posted.map((r) => r.status)).toEqual([200, 200, 200]);
      await waitFor(() => sendsTo(user).length, 30_000, "the reply");

      const messages = await stored(user);
      const asked = messages.filter((m) => m.role === "user");
      expect(asked.map((m) => m.status)).toEqual(["answered", "answered", "answered"]);
      expect(messages.filter((m) => m.role === "assistant")).toHaveLength(1);
      // The model was asked once, about all of it: the text, the transcript in its place, and the image.
      const requests = openai.requests.filter((r) => JSON.stringify(r.body).includes("it arrived broken"));
      expect(requests).toHaveLength(1);
      const last = requests[0].body.messages.at(-1) as unknown as { content: { type: string; text?: string }[] };
      // The voice note's own message now holds its transcript.
      const words = asked.map((m) => m.content);
      expect(last.content).toEqual([
        { type: "text", text: words.join("\n") },
        { type: "image_url", image_url: { url: `data:image/jpeg;base64,${JPEG.toString("base64")}` } },
      ]);
      expect(words).toContain("it arrived broken");
      // Each download is kept under the message it came with, once.
      const kept = await hub.runtime.db.prisma.media.findMany({ where: { messageId: { in: asked.map((m) => m.id) } } });
      const owner = (type: string) => asked.find((m) => JSON.stringify(m.attachments).includes(type))?.id;
      expect(kept.map((k) => [k.messageId, k.position, k.contentType]).sort()).toEqual(
        [
          [owner("audio/ogg"), 0, "audio/ogg"],
          [owner("image/jpeg"), 0, "image/jpeg"],
        ].sort(),
      );
      expect(sendsTo(user)).toHaveLength(1);
    });

    it("answers the rest of a burst whose voice note cannot be heard, and says so in the one reply", async () => {
      const user = newUser();
      const before = openai.transcriptions.length;
      const posted = await writeAll([whatsapp(user, HUB_NUMBER, "where is my order"), media(user, HUB_NUMBER, "", "audio/ogg", ogg(600))]);
      expect(posted.map((r) => r.status)).toEqual([200, 200]);
      await waitFor(() => sendsTo(user).length, 30_000, "the reply");
      expect(sendsTo(user).map((s) => s.body)).toEqual([`Echo: where is my order\n\n${NO_VOICE}`]);
      expect(openai.transcriptions).toHaveLength(before);
      const messages = await stored(user);
      expect(messages.filter((m) => m.role === "user").map((m) => m.status)).toEqual(["answered", "answered"]);
      expect(messages.filter((m) => m.role === "assistant")).toHaveLength(1);
    });

    it("answers the rest of a burst once its voice note's transcription failed on every attempt", async () => {
      const user = newUser();
      const before = openai.transcriptions.length;
      openai.failTranscriptions(100);
      try {
        const posted = await writeAll([whatsapp(user, HUB_NUMBER, "can you hear me"), media(user, HUB_NUMBER, "", "audio/ogg", ogg(3))]);
        expect(posted.map((r) => r.status)).toEqual([200, 200]);
        // Five attempts, a second, two, four and eight apart.
        await waitFor(() => sendsTo(user).length, 60_000, "the reply after the last attempt");
      } finally {
        openai.failTranscriptions(0);
      }
      expect(sendsTo(user).map((s) => s.body)).toEqual([`Echo: can you hear me\n\n${NO_VOICE}`]);
      expect(openai.transcriptions.length - before).toBe(5);
      const messages = await stored(user);
      expect(messages.filter((m) => m.role === "user").map((m) => m.status)).toEqual(["answered", "answered"]);
      expect(messages.filter((m) => m.role === "assistant")).toHaveLength(1);
    });
  });
});
