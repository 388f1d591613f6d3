import { type FakeOpenAI, startFakeOpenAI } from "../../fakes/openai-server";
import { createTestOrg, type TestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";
import { postWebhook, whatsapp } from "../../support/twilio";
import { startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

// An org's own transcription service (issue #16): its users' voice notes go there, with its key and model;
// another org's go to the hub's TRANSCRIBE_* service, without that key. Two fake transcription servers.

const HUB_NUMBER = "+14155238886";
const B_NUMBER = "+14155238877";
const OGG = Buffer.concat([Buffer.from("OggS"), Buffer.alloc(23), Buffer.alloc(300, 3)]);

describe("an org's own transcription service", () => {
  let setup: TwilioHub;
  let hubs: FakeOpenAI;
  let own: FakeOpenAI;
  let b: TestOrg;

  beforeAll(async () => {
    [hubs, own] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
    hubs.setTranscript("heard by the hub's service");
    own.setTranscript("heard by the org's own service");
    setup = await startTwilioHub("postgres", {
      TRANSCRIBE_BASE_URL: hubs.url,
      TRANSCRIBE_MODEL: "hub-whisper",
      INGEST_ALLOW_PRIVATE_URLS: "true",
      WHATSAPP_BURST_MS: "0",
    });
    b = await createTestOrg(setup.hub, "B");
    const bound = await setup.hub.api(`/api/twilio/numbers/${B_NUMBER}`, {
      method: "PUT",
      body: { assistant: "default", org_id: b.orgId },
    });
    expect(bound.status).toBe(200);
  });
  afterAll(async () => {
    await setup?.stop();
    await Promise.all([hubs?.close(), own?.close()]);
  });

  const voiceNote = async (user: string, to: string) => {
    const url = setup.twilio.addMedia("audio/ogg", OGG);
    const form = whatsapp(user, to, "", { NumMedia: "1", MediaUrl0: url, MediaContentType0: "audio/ogg" });
    expect((await postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", form)).status).toBe(200);
    return waitFor(() => setup.twilio.sends.find((s) => s.to === `whatsapp:${user}`)?.body, 20_000, "the reply");
  };

  it("sends an org's voice notes to its own service with its key; the others' to the hub's, without it", async () => {
    const set = await b.api("/api/twilio/transcription", {
      method: "PUT",
      body: { base_url: own.url, model: "org-whisper", api_key: "sk-org-b-secret" },
    });
    // The key is kept, never shown.
    expect(set).toMatchObject({ status: 200, body: { base_url: own.url, model: "org-whisper", api_key_set: true } });
    expect(JSON.stringify(set.body)).not.toContain("sk-org-b-secret");

    expect(await voiceNote("+351911000401", B_NUMBER)).toBe("Echo: heard by the org's own service");
    expect(own.transcriptions).toEqual([expect.objectContaining({ model: "org-whisper", authorization: "Bearer sk-org-b-secret" })]);

    expect(await voiceNote("+351911000402", HUB_NUMBER)).toBe("Echo: heard by the hub's service");
    expect(hubs.transcriptions).toEqual([expect.objectContaining({ model: "hub-whisper", authorization: undefined })]);
    expect(own.transcriptions).toHaveLength(1);
  });

  it("falls back to the hub's service once the org removes its own, and refuses bad settings", async () => {
    const cleared = await b.api("/api/twilio/transcription", { method: "PUT", body: { base_url: null } });
    expect(cleared).toMatchObject({ status: 200, body: { base_url: null, model: null, api_key_set: false } });
    const before = hubs.transcriptions.length;
    expect(await voiceNote("+351911000403", B_NUMBER)).toBe("Echo: heard by the hub's service");
    expect(hubs.transcriptions).toHaveLength(before + 1);

    const bad = await b.api("/api/twilio/transcription", { method: "PUT", body: { base_url: "ftp://example.com" } });
    expect(bad).toMatchObject({ status: 400, body: { issues: [expect.objectContaining({ field: "base_url" })] } });
    const unknown = await b.api("/api/twilio/transcription", { method: "PUT", body: { base_url: own.url, voice: true } });
    expect(unknown.status).toBe(400);
  });
});
