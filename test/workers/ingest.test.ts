import type { Worker } from "bullmq";
import { enqueueIngest, ingestJobId } from "../../src/queue";
import { startIngestWorker, sweepDocuments } from "../../workers/ingest";
import { type FakeWebServer, startFakeWebServer } from "../fakes/web-server";
import { startTestHub, type TestHub } from "../support/hub";
import { type HubProcess, spawnHub, waitFor } from "../support/processes";

// The ingest worker on the real queue: a document is indexed once however often its job runs, a document
// whose job was lost is swept back onto the queue, and one whose worker was killed is indexed by another.
// A page that does not answer now is tried again; one that is gone is given up at once; a document that keeps
// failing (here: a database that refuses its passages) is given up with a generic reason, never in a loop.

describe("the ingest worker", () => {
  let hub: TestHub;
  let web: FakeWebServer;
  let folderId: string;
  const workers: Worker[] = [];
  beforeAll(async () => {
    web = await startFakeWebServer();
    // A gateway alone: each test starts the workers it needs.
    hub = await startTestHub("postgres", { ROLE: "gateway", INGEST_ALLOW_PRIVATE_URLS: "true", JOB_LOCK_MS: "2000" });
    folderId = (await hub.api("/api/folders", { body: { name: "Ingested" } })).body.id;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
  });
  afterAll(async () => {
    await hub?.stop();
    await web?.close();
  });

  const startWorker = () => {
    const worker = startIngestWorker(hub.runtime.ingest, {
      connection: hub.runtime.connect(),
      prefix: hub.env.QUEUE_PREFIX,
      concurrency: 2,
      lockMs: 2000,
    });
    workers.push(worker);
    return worker;
  };
  const prisma = () => hub.runtime.db.prisma;
  const documentOf = (id: string) =>
    prisma().document.findUniqueOrThrow({ where: { id }, include: { passages: { select: { id: true } } } });
  const settled = (id: string) =>
    waitFor(
      async () => {
        const doc = await documentOf(id);
        return doc.status !== "processing" && doc;
      },
      60_000,
      `document ${id} indexed`,
    );
  const stuck = (data: { title: string; original?: Buffer; attempts?: number; sourceUrl?: string; format?: string }) =>
    prisma().document.create({
      data: {
        folderId,
        content: "",
        status: "processing",
        format: "markdown",
        ...data,
        original: data.original ? new Uint8Array(data.original) : null,
        updatedAt: new Date(Date.now() - 60_000),
      },
    });

  it("indexes a document once, however often its job is added or run", async () => {
    const form = new FormData();
    form.append("file", new Blob(["# Parking\n\nFree parking behind the bakery."], { type: "text/markdown" }), "parking.md");
    const res = await fetch(`${hub.url}/api/folders/${folderId}/documents`, {
      method: "POST",
      headers: { authorization: `Bearer ${hub.key}` },
      body: form,
    });
    expect(res.status).toBe(202);
    const { id } = await res.json();
    // Waiting for a worker: adding its job again is a no-op.
    expect(await enqueueIngest(hub.runtime.ingestQueue, "ingest", id)).toBe(false);
    startWorker();
    const ready = await settled(id);
    expect(ready).toMatchObject({ status: "ready", attempts: 1 });
    expect(ready.passages.length).toBeGreaterThan(0);

    // Run again once done (a duplicate, a sweep): the document is left as it is.
    expect(await enqueueIngest(hub.runtime.ingestQueue, "ingest", id)).toBe(true);
    await waitFor(async () => (await hub.runtime.ingestQueue.getJobState(ingestJobId("ingest", id))) === "completed");
    const after = await documentOf(id);
    expect(after.passages).toEqual(ready.passages);
    expect(after.attempts).toBe(1);
  });

  it("puts a document whose job was lost back on the queue, and gives up on one tried too often", async () => {
    const lost = await stuck({ title: "lost.md", original: Buffer.from("# Lost\n\nThe lighthouse tour starts at noon.") });
    const poison = await stuck({ title: "poison.md", attempts: 3 });
    const fresh = await prisma().document.create({ data: { folderId, title: "fresh.md", content: "", status: "processing" } });
    expect(await sweepDocuments(prisma(), hub.runtime.ingestQueue, 30_000)).toBe(2);
    expect(await hub.runtime.ingestQueue.getJobState(ingestJobId("ingest", lost.id))).toBe("waiting");
    // Stored a moment ago: its job is most likely on its way.
    expect(await hub.runtime.ingestQueue.getJobState(ingestJobId("ingest", fresh.id))).toBe("unknown");
    startWorker();
    expect(await settled(lost.id)).toMatchObject({ status: "ready", original: null });
    const failed = await settled(poison.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/Gave up after 3 attempts/);
    await prisma().document.delete({ where: { id: fresh.id } });
  });

  it("indexes a document whose worker was killed mid-ingest, in another worker process", async () => {
    web.set("/slow", { hang: true });
    const doc = await stuck({ title: "slow", sourceUrl: `${web.url}/slow`, format: "html" });
    await enqueueIngest(hub.runtime.ingestQueue, "ingest", doc.id);
    const env = { ...hub.env, ROLE: "worker", JOB_LOCK_MS: "2000" };
    const spawned: HubProcess[] = [];
    try {
      spawned.push(await spawnHub(env));
      // The first worker is fetching the page, which does not answer: it is killed there.
      await waitFor(() => web.hits("/slow") === 1, 60_000, "the first worker's fetch");
      spawned[0].proc.kill("SIGKILL");
      await spawned[0].exited;
      web.set("/slow", {
        body: "<html><head><title>Slow page</title></head><body><p>Answered at last, about the harbour ferry.</p></body></html>",
      });
      spawned.push(await spawnHub(env));
      const ready = await settled(doc.id);
      expect(ready).toMatchObject({ status: "ready", title: "slow", attempts: 2 });
      expect(ready.content).toContain("harbour ferry");
    } finally {
      for (const w of spawned) w.proc.kill("SIGKILL");
      await Promise.all(spawned.map((w) => w.exited));
    }
  });

  /** Until `drop`: the database refuses passages holding `phrase`, as a real internal error would refuse them. */
  const refusePassages = async (phrase: string) => {
    const name = `refuse_${phrase.replace(/\W/g, "_")}`;
    await prisma().$executeRawUnsafe(`ALTER TABLE passages ADD CONSTRAINT ${name} CHECK (content NOT LIKE '%${phrase}%') NOT VALID`);
    return { drop: () => prisma().$executeRawUnsafe(`ALTER TABLE passages DROP CONSTRAINT ${name}`) };
  };
  const page = (text: string) => ({
    body: `<html><head><title>Notice</title></head><body><article><h1>Notice</h1><p>${text.repeat(4)}</p></article></body></html>`,
  });
  const jobState = (name: "ingest" | "refresh", id: string) => hub.runtime.ingestQueue.getJobState(ingestJobId(name, id));

  it("tries a page that does not answer now again, and gives up at once on one that is gone", async () => {
    web.set("/busy", { status: 503, body: "busy" });
    const busy = await stuck({ title: "busy", sourceUrl: `${web.url}/busy`, format: "html" });
    web.set("/removed", { status: 404, body: "gone" });
    const removed = await stuck({ title: "removed", sourceUrl: `${web.url}/removed`, format: "html" });
    await enqueueIngest(hub.runtime.ingestQueue, "ingest", busy.id);
    await enqueueIngest(hub.runtime.ingestQueue, "ingest", removed.id);
    startWorker();

    const gone = await settled(removed.id);
    expect(gone).toMatchObject({ status: "failed", attempts: 1, error: expect.stringMatching(/404/) });
    expect(web.hits("/removed")).toBe(1);

    // The page answers 503 before the worker records it: wait for the record, not only the fetch.
    const retried = await waitFor(
      async () => {
        const document = await documentOf(busy.id);
        return document.error ? document : null;
      },
      60_000,
      "the busy page's 503 recorded",
    );
    expect(retried).toMatchObject({ status: "processing", error: expect.stringMatching(/503.*it will be retried/) });
    web.set("/busy", page("The harbour ferry leaves every hour. "));
    const ready = await settled(busy.id);
    expect(ready).toMatchObject({ status: "ready", error: null, attempts: 2 });
    expect(ready.passages.length).toBeGreaterThan(0);
  });

  it("records a refresh that keeps failing inside the hub, with a generic reason, and waits a full interval to try again", async () => {
    const folder = (await hub.api("/api/folders", { body: { name: "Notices", refreshMinutes: 15 } })).body.id;
    web.set("/notice", page("The ferry runs as usual. "));
    const id = (await hub.api(`/api/folders/${folder}/documents`, { body: { url: `${web.url}/notice` } })).body.id;
    startWorker();
    expect(await settled(id)).toMatchObject({ status: "ready" });
    const passages = (await documentOf(id)).passages;

    const refusal = await refusePassages("dockworkers strike");
    try {
      web.set("/notice", page("No ferry today: dockworkers strike. "));
      const due = new Date(Date.now() - 16 * 60_000);
      await prisma().document.update({ where: { id }, data: { fetchedAt: due } });
      const fetches = web.hits("/notice");
      await sweepDocuments(prisma(), hub.runtime.ingestQueue, 30_000);
      const failed = await waitFor(async () => (await jobState("refresh", id)) === "completed" && documentOf(id), 60_000, "the refresh");
      // Tried as often as a job is, then recorded: the reason says nothing of the database's own words.
      expect(web.hits("/notice") - fetches).toBe(3);
      expect(failed).toMatchObject({ status: "ready", error: "Refresh failed (internal error)" });
      expect(failed.fetchedAt?.getTime()).toBeGreaterThan(due.getTime() + 15 * 60_000);
      expect(failed.passages).toEqual(passages);

      // Not due again until its interval has passed: sweeps leave it alone.
      for (let sweep = 0; sweep < 3; sweep++) {
        await sweepDocuments(prisma(), hub.runtime.ingestQueue, 30_000);
        expect(await jobState("refresh", id)).toBe("completed");
      }
      expect(web.hits("/notice") - fetches).toBe(3);
    } finally {
      await refusal.drop();
    }
  });

  it("keeps a document whose new indexing keeps failing ready and searchable, with a generic reason", async () => {
    const folder = (await hub.api("/api/folders", { body: { name: "Timetable" } })).body.id;
    const text = "# Timetable\n\nThe night bus to the airport leaves at midnight from the station square.";
    const id = (await hub.api(`/api/folders/${folder}/documents`, { body: { title: "Timetable", content: text } })).body.id;
    const refusal = await refusePassages("night bus to the airport");
    try {
      expect((await hub.api(`/api/folders/${folder}`, { method: "PATCH", body: { language: "simple" } })).status).toBe(200);
      startWorker();
      const doc = await settled(id);
      expect(doc).toMatchObject({ status: "ready", error: "Indexing failed (internal error); gave up after 3 attempts", attempts: 3 });
      expect(doc.passages.length).toBeGreaterThan(0);
      const found = await hub.runtime.knowledge.search({ orgId: hub.orgId, folderIds: [folder] }, "night bus airport");
      expect(found[0]?.documentId).toBe(id);
    } finally {
      await refusal.drop();
    }
  });
});
