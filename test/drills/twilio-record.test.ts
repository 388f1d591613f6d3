import { spawnHub, startPrivatePostgres, waitFor } from "../support/processes";
import { postWebhook, whatsapp } from "../support/twilio";
import { delivered, startTwilioHub } from "../support/twilio-hub";

// Fault drill: Postgres goes away while Twilio is taking a part, so the hub cannot record that Twilio has it.
// A part Twilio took must not be sent again: once Postgres is back the part is recorded with the SID of the
// one send, and nothing more goes out.

it("Postgres away when Twilio answers a send: the part is recorded once it is back, and never sent twice", async () => {
  const pg = await startPrivatePostgres();
  const setup = await startTwilioHub("postgres", { DATABASE_URL: pg.url });
  const { hub, twilio } = setup;
  try {
    // Twilio takes its time with the send: long enough to stop Postgres before it answers.
    twilio.setDelay(3000);
    const res = await postWebhook(hub.url, twilio.authToken, "/webhooks/twilio", whatsapp("+15550009001", "+14155238886", "hello"));
    expect(res.status).toBe(200);
    await waitFor(async () => twilio.attempts.length === 1, 60_000, "the send to reach Twilio");
    pg.stop();
    // Twilio has answered: the hub's record of it fails now, while Postgres is away.
    await waitFor(async () => twilio.sends.length === 1, 60_000, "Twilio to take the part");
    pg.start();

    const sid = twilio.sends[0].sid;
    const part = await waitFor(
      async () => (await hub.runtime.db.prisma.outboundPart.findFirst({ where: { providerId: sid } }).catch(() => null)) ?? null,
      30_000,
      "the part to be recorded with the SID of its one send",
    );
    expect(part.body).toBe("Echo: hello");
    // The delivery that sent it has ended: nothing is left to send it again.
    await delivered(hub, part.messageId);
    expect(twilio.attempts).toHaveLength(1);
    expect(twilio.sends).toHaveLength(1);
  } finally {
    await setup.stop();
    pg.destroy();
  }
});

it("SIGTERM while Twilio is taking a part: the worker waits for Twilio's answer and records it before it exits", async () => {
  const setup = await startTwilioHub("postgres", { ROLE: "gateway" });
  const { hub: gateway, twilio } = setup;
  const worker = await spawnHub({ ...gateway.env, ROLE: "worker" });
  try {
    twilio.setDelay(1500);
    const res = await postWebhook(gateway.url, twilio.authToken, "/webhooks/twilio", whatsapp("+15550009002", "+14155238886", "goodbye"));
    expect(res.status).toBe(200);
    await waitFor(async () => twilio.attempts.length === 1, 60_000, "the send to reach Twilio");
    worker.proc.kill("SIGTERM");
    expect(await worker.exited).toBe(0);

    // Recorded by the worker itself: this fake Twilio sends no status callbacks.
    expect(twilio.sends).toHaveLength(1);
    const part = await gateway.runtime.db.prisma.outboundPart.findFirstOrThrow({ where: { body: "Echo: goodbye" } });
    expect(part.providerId).toBe(twilio.sends[0].sid);
  } finally {
    worker.proc.kill("SIGKILL");
    await setup.stop();
  }
});
