import { type FakeOpenAI, startFakeOpenAI } from "../fakes/openai-server";
import { freePort, type HubProcess, spawnHub, waitFor } from "../support/processes";
import { postWebhook, whatsapp } from "../support/twilio";
import { startTwilioHub, type TwilioHub } from "../support/twilio-hub";

// Fault drills for voice notes (issue #16): the transcription service away for a while, and a worker killed
// while a voice note is transcribed. What must hold: the voice note is answered once, with its transcript,
// its audio downloaded from Twilio once (the fake counts every download).

const HUB_NUMBER = "+14155238886";
const OGG = Buffer.concat([Buffer.from("OggS"), Buffer.alloc(23), Buffer.alloc(500, 5)]);

function voiceNote(setup: TwilioHub, user: string) {
  const url = setup.twilio.addMedia("audio/ogg", OGG);
  const form = whatsapp(user, HUB_NUMBER, "", { NumMedia: "1", MediaUrl0: url, MediaContentType0: "audio/ogg" });
  return { url, form };
}

const post = (setup: TwilioHub, form: Record<string, string>) =>
  postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", form);
const fetchesOf = (setup: TwilioHub, url: string) => setup.twilio.mediaFetches.filter((f) => url.endsWith(f.url)).map((f) => f.status);
const messagesOf = (setup: TwilioHub, user: string) =>
  setup.hub.runtime.db.prisma.message.findMany({ where: { conversation: { externalId: `whatsapp_${user}` } }, orderBy: { seq: "asc" } });

it("the transcription service down for a while, then back: a burst's voice note is answered once, with its transcript", async () => {
  // The service's address is set before anything listens there: connections are refused until it starts.
  const port = await freePort();
  const setup = await startTwilioHub("postgres", { TRANSCRIBE_BASE_URL: `http://127.0.0.1:${port}/v1`, WHATSAPP_BURST_MS: "2000" });
  let transcriber: FakeOpenAI | null = null;
  const user = "+351911000301";
  try {
    const note = voiceNote(setup, user);
    const posted = await Promise.all([post(setup, whatsapp(user, HUB_NUMBER, "listen to this")), post(setup, note.form)]);
    expect(posted.map((r) => r.status)).toEqual([200, 200]);
    // Two attempts of the burst's turn failed on the service (of five, a second, two, four, eight apart).
    const queue = setup.hub.runtime.askQueue;
    await waitFor(
      async () => {
        const jobs = await Promise.all((await messagesOf(setup, user)).map((m) => queue.getJob(m.id)));
        return jobs.some((j) => (j?.attemptsMade ?? 0) >= 2);
      },
      30_000,
      "two failed attempts",
    );
    expect(setup.twilio.sends).toEqual([]);
    transcriber = await startFakeOpenAI({ port });
    transcriber.setTranscript("is it open today");
    await waitFor(() => setup.twilio.sends.length, 30_000, "the reply");

    const messages = await messagesOf(setup, user);
    const asked = messages.filter((m) => m.role === "user");
    expect(asked.map((m) => m.status)).toEqual(["answered", "answered"]);
    expect(asked.map((m) => m.content).sort()).toEqual(["is it open today", "listen to this"]);
    expect(setup.twilio.sends.map((s) => s.body)).toEqual([`Echo: ${asked.map((m) => m.content).join("\n")}`]);
    expect(messages.filter((m) => m.role === "assistant")).toHaveLength(1);
    // Downloaded on the first attempt and kept: the retries read the stored copy.
    expect(fetchesOf(setup, note.url)).toEqual([200]);
    expect(transcriber.transcriptions).toHaveLength(1);
  } finally {
    await transcriber?.close();
    await setup.stop();
  }
});

it("a worker killed (SIGKILL) while a voice note is transcribed: another answers it once, the audio downloaded once", async () => {
  const transcriber = await startFakeOpenAI();
  const setup = await startTwilioHub("postgres", { ROLE: "gateway", JOB_LOCK_MS: "2000", TRANSCRIBE_BASE_URL: transcriber.url });
  const workers: HubProcess[] = [];
  const user = "+351911000302";
  try {
    const workerEnv = { ...setup.hub.env, ROLE: "worker" };
    workers.push(await spawnHub(workerEnv));
    transcriber.setTranscript("do you deliver on sunday");
    transcriber.hangTranscriptions(1);
    const note = voiceNote(setup, user);
    expect((await post(setup, note.form)).status).toBe(200);
    await waitFor(() => transcriber.transcriptions.length === 1, 30_000, "the voice note sent to be transcribed");
    workers[0].proc.kill("SIGKILL");
    workers.push(await spawnHub(workerEnv));
    await waitFor(() => setup.twilio.sends.length, 90_000, "the reply sent by the second worker");

    expect(setup.twilio.sends.map((s) => s.body)).toEqual(["Echo: do you deliver on sunday"]);
    expect(fetchesOf(setup, note.url)).toEqual([200]);
    expect(transcriber.transcriptions).toHaveLength(2);
    const messages = await messagesOf(setup, user);
    expect(messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "answered"],
      ["assistant", expect.any(String)],
    ]);
    expect(messages[0]).toMatchObject({
      content: "do you deliver on sunday",
      metadata: expect.objectContaining({ voice: expect.anything() }),
    });
  } finally {
    for (const w of workers) w.proc.kill("SIGKILL");
    await setup.stop();
    await transcriber.close();
  }
});
