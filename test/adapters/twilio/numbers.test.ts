import { createTestOrg, type TestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";
import { postWebhook, whatsapp } from "../../support/twilio";
import { startTwilioHub, type TwilioHub } from "../../support/twilio-hub";

// Who owns a number: the hub's Twilio account is its operator's, who assigns numbers to orgs with a key of
// the default org. An org chooses which of its assistants answers a number assigned to it, and nothing more.

const FREE = "+14155550111";
const ASSIGNED = "+14155550122";

describe("assigning the hub's Twilio numbers to orgs", () => {
  let setup: TwilioHub;
  let b: TestOrg;
  let c: TestOrg;
  beforeAll(async () => {
    setup = await startTwilioHub("postgres");
    [b, c] = [await createTestOrg(setup.hub, "B"), await createTestOrg(setup.hub, "C")];
    await b.api("/api/assistants", { body: { name: "sales" } });
  });
  afterAll(() => setup?.stop());

  const put = (api: TestOrg["api"], number: string, body: object) => api(`/api/twilio/numbers/${number}`, { method: "PUT", body });
  const bindings = () => setup.hub.runtime.db.prisma.twilioNumber.findMany({ orderBy: { number: "asc" } });

  it("refuses an org that binds a number not assigned to it, free or another org's, alike and in the management API's shape", async () => {
    expect(await put(setup.hub.api, ASSIGNED, { assistant: "default", org_id: b.orgId })).toMatchObject({ status: 200 });
    for (const number of [FREE, ASSIGNED]) {
      const res = await put(c.api, number, { assistant: "default" });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: "forbidden", message: expect.stringContaining("not assigned to your org") });
    }
    expect((await put(c.api, FREE, { assistant: "default", org_id: c.orgId })).status).toBe(403);
    expect((await c.api(`/api/twilio/numbers/${ASSIGNED}`, { method: "DELETE" })).status).toBe(404);
    expect((await bindings()).map((n) => [n.number, n.orgId])).toEqual([[ASSIGNED, b.orgId]]);

    // Messages to the free number are still the default org's; to the assigned one, B's.
    const post = (to: string, from: string) =>
      postWebhook(setup.hub.url, setup.twilio.authToken, "/webhooks/twilio", whatsapp(from, to, "hello"));
    await post(FREE, "+15550003001");
    await post(ASSIGNED, "+15550003002");
    const orgOf = (key: string) =>
      waitFor(() => setup.hub.runtime.db.prisma.conversation.findFirst({ where: { externalId: key } })).then((conv) => conv.orgId);
    expect(await orgOf("whatsapp_+15550003001")).toBe(setup.hub.orgId);
    expect(await orgOf("whatsapp_+15550003002")).toBe(b.orgId);
  });

  it("lets an org choose which of its assistants answers its number, and give the number back", async () => {
    const rebound = await put(b.api, ASSIGNED, { assistant: "sales" });
    expect(rebound.status).toBe(200);
    expect(rebound.body).toMatchObject({ number: ASSIGNED, orgId: b.orgId, assistantName: "sales" });
    expect((await b.api("/api/twilio/numbers")).body.numbers).toMatchObject([{ number: ASSIGNED, assistantName: "sales" }]);
    expect((await c.api("/api/twilio/numbers")).body.numbers).toEqual([]);
    expect((await b.api(`/api/twilio/numbers/${ASSIGNED}`, { method: "DELETE" })).status).toBe(204);
    // Given back, it is free: B cannot take it again by itself.
    expect((await put(b.api, ASSIGNED, { assistant: "sales" })).status).toBe(403);
  });

  it("lets the operator assign, list and take back any number, and refuses to move a bound one silently", async () => {
    expect((await put(setup.hub.api, FREE, { assistant: "sales", org_id: b.orgId })).status).toBe(200);
    const moved = await put(setup.hub.api, FREE, { assistant: "default", org_id: c.orgId });
    expect(moved).toMatchObject({ status: 409, body: { error: "conflict" } });
    const unknownAssistant = await put(setup.hub.api, ASSIGNED, { assistant: "nobody", org_id: c.orgId });
    expect(unknownAssistant).toMatchObject({ status: 400, body: { error: "invalid_message", issues: [{ field: "assistant" }] } });
    const badOrg = await put(setup.hub.api, ASSIGNED, { assistant: "default", org_id: "not-an-org" });
    expect(badOrg).toMatchObject({ status: 400, body: { issues: [{ field: "org_id" }] } });
    const noOrg = await put(setup.hub.api, ASSIGNED, { assistant: "default", org_id: "00000000-0000-4000-8000-000000000000" });
    expect(noOrg).toMatchObject({ status: 400, body: { issues: [{ field: "org_id", message: expect.stringContaining("not found") }] } });
    const listed = (await setup.hub.api("/api/twilio/numbers")).body.numbers;
    expect(listed).toMatchObject([{ number: FREE, orgId: b.orgId }]);
    expect((await setup.hub.api(`/api/twilio/numbers/${FREE}`, { method: "DELETE" })).status).toBe(204);
    expect(await bindings()).toEqual([]);
  });
});
