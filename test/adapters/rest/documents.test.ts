import { connect } from "node:net";
import { type FakeWebServer, startFakeWebServer } from "../../fakes/web-server";
import { makeDocxBomb, makePdfBomb } from "../../support/bombs";
import { DOCX_TYPE, makeDocx, makePasswordPdf, makePdf } from "../../support/documents";
import { startTestHub, type TestHub } from "../../support/hub";
import { createTestOrg, type TestOrg } from "../../support/orgs";
import { waitFor } from "../../support/processes";

// Files and web pages into a knowledge folder through the management API: stored and answered 202, parsed
// and indexed by the ingest worker, searchable once ready; bad input refused with nothing stored.

const MAX_BYTES = 300_000;
const PAGE = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body>
  <nav>Home Shop Contact Newsletter</nav>
  <article><h1>${title}</h1><p>${body.repeat(3)}</p></article>
  <footer>Copyright and cookie banner text</footer></body></html>`;

describe("management API: documents from files and web pages", () => {
  let hub: TestHub;
  let web: FakeWebServer;
  let other: TestOrg;
  let folderId: string;
  beforeAll(async () => {
    web = await startFakeWebServer();
    hub = await startTestHub("postgres", {
      INGEST_ALLOW_PRIVATE_URLS: "true",
      INGEST_MAX_BYTES: String(MAX_BYTES),
      INGEST_PARSE_MEMORY_MB: "128",
      SWEEP_INTERVAL_MS: "200",
      SWEEP_AFTER_MS: "1000",
    });
    other = await createTestOrg(hub);
    folderId = (await hub.api("/api/folders", { body: { name: "Shop" } })).body.id;
  });
  afterAll(async () => {
    await hub?.stop();
    await web?.close();
  });

  const documents = (path = "") => `/api/folders/${folderId}/documents${path}`;
  const upload = (body: BodyInit, headers: Record<string, string> = {}, path = "") =>
    fetch(`${hub.url}${documents(path)}`, { method: "POST", headers: { authorization: `Bearer ${hub.key}`, ...headers }, body });
  const multipart = (bytes: Buffer, fileName: string, type: string, title?: string) => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)], { type }), fileName);
    if (title) form.append("title", title);
    return upload(form);
  };
  /** The document once the worker is done with it. */
  const settled = (id: string) =>
    waitFor(
      async () => {
        const res = await hub.api(documents(`/${id}`));
        return res.body.status !== "processing" && res.body;
      },
      60_000,
      `document ${id} indexed`,
    );
  const search = (query: string) => hub.runtime.knowledge.search({ orgId: hub.orgId, folderIds: [folderId] }, query);
  const count = () => hub.runtime.db.prisma.document.count({ where: { folderId } });

  it("takes a PDF upload with 202, indexes it in the worker, and finds its passages", async () => {
    const pdf = await makePdf(
      [
        ["Opening hours", "The shop opens at nine in the morning."],
        ["Returns", "Items can be returned within thirty days."],
      ],
      "Shop handbook",
    );
    const res = await multipart(pdf, "handbook.pdf", "application/pdf");
    expect(res.status).toBe(202);
    const accepted = await res.json();
    expect(accepted).toMatchObject({ folderId, title: "handbook.pdf", status: "processing", format: "pdf", fileName: "handbook.pdf" });
    const doc = await settled(accepted.id);
    expect(doc).toMatchObject({ status: "ready", title: "Shop handbook", error: null });
    expect(doc.passages).toBeGreaterThan(0);
    const hits = await search("returned thirty days");
    expect(hits[0]).toMatchObject({ documentId: accepted.id, documentTitle: "Shop handbook" });
    expect(hits[0].content).toContain("returned within thirty days");
    const stored = await hub.runtime.db.prisma.document.findUniqueOrThrow({ where: { id: accepted.id } });
    expect(stored.original).toBeNull();
  });

  it("takes a DOCX as the raw body, with the title given", async () => {
    const docx = await makeDocx("Delivery zones", "We deliver on weekdays.", [
      ["Zone", "Price"],
      ["Harbour district", "7 EUR"],
    ]);
    const res = await upload(new Uint8Array(docx), { "content-type": DOCX_TYPE }, "?title=Delivery");
    expect(res.status).toBe(202);
    const doc = await settled((await res.json()).id);
    expect(doc).toMatchObject({ status: "ready", title: "Delivery", format: "docx" });
    expect((await search("harbour district price"))[0].content).toContain("| Harbour district | 7 EUR |");
  });

  it("takes a web page by URL: its main content, its <title>, its URL as the source", async () => {
    web.set("/faq", { body: PAGE("Frequently asked", "Gift cards never expire and can be used online. ") });
    const res = await hub.api(documents(), { body: { url: `${web.url}/faq` } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "processing", sourceUrl: `${web.url}/faq`, format: "html" });
    const doc = await settled(res.body.id);
    expect(doc).toMatchObject({ status: "ready", title: "Frequently asked" });
    expect(doc.fetchedAt).toBeTruthy();
    expect((await search("gift cards expire"))[0].content).toContain("Gift cards never expire");
    expect(await search("newsletter cookie banner")).toEqual([]);
  });

  it("reads a CSV body in the charset it declares", async () => {
    const res = await upload(
      new Uint8Array(Buffer.from("Gruß,Preis\nBrötchen,1\n", "latin1")),
      { "content-type": "text/csv; charset=iso-8859-1" },
      "?fileName=prices.csv",
    );
    expect(res.status).toBe(202);
    const { id } = await res.json();
    expect(await settled(id)).toMatchObject({ status: "ready", title: "prices.csv", format: "csv" });
    const stored = await hub.runtime.db.prisma.document.findUniqueOrThrow({ where: { id } });
    expect(stored.content).toBe("| Gruß | Preis |\n| --- | --- |\n| Brötchen | 1 |");
  });

  it("ends failed, with the reason, a file that opens but has no text", async () => {
    const res = await multipart(await makePdf([[]]), "scan.pdf", "application/pdf");
    expect(res.status).toBe(202);
    const doc = await settled((await res.json()).id);
    expect(doc).toMatchObject({ status: "failed", passages: 0 });
    expect(doc.error).toMatch(/no text/);
  });

  it("refuses with 413 a file past INGEST_MAX_BYTES, and stores nothing", async () => {
    const before = await count();
    const big = Buffer.alloc(MAX_BYTES + 1, "a");
    const form = await multipart(big, "big.txt", "text/plain");
    expect(form.status).toBe(413);
    expect(await form.json()).toMatchObject({ error: "payload_too_large" });
    const raw = await upload(new Uint8Array(big), { "content-type": "text/csv" });
    expect(raw.status).toBe(413);
    expect(await count()).toBe(before);
  });

  it("refuses with 415 a type it cannot read, naming those it can, and stores nothing", async () => {
    const before = await count();
    const raw = await upload(new Uint8Array([0x89, 0x50, 0x4e, 0x47]), { "content-type": "image/png" });
    expect(raw.status).toBe(415);
    const body = await raw.json();
    expect(body.error).toBe("invalid_message");
    expect(body.message).toContain("application/pdf");
    expect(body.message).toContain(DOCX_TYPE);
    expect((await multipart(Buffer.from("MZ"), "setup.exe", "application/octet-stream")).status).toBe(415);
    expect(await count()).toBe(before);
  });

  it("refuses with 422 a corrupt or password-protected file and an unreachable URL, and stores nothing", async () => {
    const before = await count();
    const pdf = await makePdf([["text"]]);
    const corrupt = await upload(new Uint8Array(Buffer.concat([pdf.subarray(0, 30), Buffer.from("torn")])), {
      "content-type": "application/pdf",
    });
    expect(corrupt.status).toBe(422);
    const locked = await multipart(await makePasswordPdf(), "locked.pdf", "application/pdf");
    expect(locked.status).toBe(422);
    expect((await locked.json()).message).toMatch(/password/);
    expect((await multipart(Buffer.from("not a zip"), "a.docx", DOCX_TYPE)).status).toBe(422);
    const missing = await hub.api(documents(), { body: { url: `${web.url}/gone` } });
    expect(missing.status).toBe(422);
    expect(missing.body.message).toMatch(/404/);
    expect((await hub.api(documents(), { body: { url: "ftp://example.com/x" } })).status).toBe(400);
    expect(await count()).toBe(before);
  });

  it("refuses a DOCX bomb at upload, and fails a PDF bomb once with the reason, not trying it again", async () => {
    const before = await count();
    const docx = await multipart(await makeDocxBomb(250), "bomb.docx", DOCX_TYPE);
    expect(docx.status).toBe(422);
    expect((await docx.json()).message).toMatch(/too large once decompressed/);
    expect(await count()).toBe(before);
    // Its content streams are read only when its text is: the worker ends it.
    const pdf = await multipart(await makePdfBomb(250), "bomb.pdf", "application/pdf");
    expect(pdf.status).toBe(202);
    const { id } = await pdf.json();
    expect(await settled(id)).toMatchObject({
      status: "failed",
      error: "The PDF document needs more memory than allowed to read (128 MB)",
    });
    expect(await hub.runtime.db.prisma.document.findUnique({ where: { id }, select: { attempts: true } })).toEqual({ attempts: 1 });
    // The hub reads the next file as usual.
    const next = await multipart(await makePdf([["Gift cards never expire."]]), "gifts.pdf", "application/pdf");
    expect(await settled((await next.json()).id)).toMatchObject({ status: "ready" });
  });

  it("refuses with 400 a form without a file, and a malformed multipart body", async () => {
    const form = new FormData();
    form.append("title", "No file");
    const res = await upload(form);
    expect(res.status).toBe(400);
    expect((await res.json()).issues).toEqual([expect.objectContaining({ field: "file" })]);
    expect((await upload("--x\r\n", { "content-type": "multipart/form-data" })).status).toBe(400);
  });

  it("finds the `file` part of a form that has another file before it", async () => {
    const form = new FormData();
    form.append("attachment", new Blob(["Unrelated notes about the van."], { type: "text/plain" }), "notes.txt");
    form.append("file", new Blob(["# Bakery\n\nSourdough is baked on Fridays."], { type: "text/markdown" }), "bakery.md");
    const res = await upload(form);
    expect(res.status).toBe(202);
    const doc = await settled((await res.json()).id);
    expect(doc).toMatchObject({ status: "ready", title: "bakery.md", format: "markdown" });
    const stored = await hub.runtime.db.prisma.document.findUniqueOrThrow({ where: { id: doc.id } });
    expect(stored.content).toBe("# Bakery\n\nSourdough is baked on Fridays.");
  });

  it("stays up and stores nothing when an upload is cut short or abandoned mid-body", async () => {
    const before = await count();
    const { hostname, port } = new URL(hub.url);
    const head = (length: number) =>
      `POST ${documents()} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${hub.key}\r\n` +
      `Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${length}\r\n\r\n`;
    const part = '--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhalf a';
    // A body that ends inside its part: a clean 400.
    const cut = await upload(part, { "content-type": "multipart/form-data; boundary=b" });
    expect(cut.status).toBe(400);
    // A client that goes away with most of its body unsent.
    const socket = connect(Number(port), hostname);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(head(100_000) + part);
    socket.destroy();
    const after = await waitFor(async () => (await hub.api(documents(), { body: { title: "After", content: "Still answering." } })).status);
    expect(after).toBe(201);
    expect(await count()).toBe(before + 1);
  });

  it("indexes a document holding NUL characters, without them", async () => {
    const res = await upload(
      new Uint8Array(Buffer.from("name,price\nbread\u0000,1\n")),
      { "content-type": "text/csv" },
      "?fileName=nul.csv",
    );
    expect(res.status).toBe(202);
    const doc = await settled((await res.json()).id);
    expect(doc).toMatchObject({ status: "ready", error: null, title: "nul.csv" });
    const stored = await hub.runtime.db.prisma.document.findUniqueOrThrow({ where: { id: doc.id } });
    expect(stored.content).toBe("| name | price |\n| --- | --- |\n| bread | 1 |");
    expect((await search("bread price"))[0]?.documentId).toBe(doc.id);
    // What the caller typed is refused instead, as everywhere in the hub.
    const named = await upload(new Uint8Array(Buffer.from("a,b\n1,2\n")), { "content-type": "text/csv" }, "?fileName=nul%00.csv");
    expect(named.status).toBe(400);
  });

  it("keeps JSON and text documents synchronous (201, ready)", async () => {
    const res = await hub.api(documents(), { body: { title: "Note", content: "Parking is free after six." } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "ready", passages: 1 });
  });

  it("shows another org's documents to nobody but their own org", async () => {
    const id = (await hub.api(documents(), { body: { title: "Private", content: "Internal price list." } })).body.id;
    expect((await other.api(documents(`/${id}`))).status).toBe(404);
    expect((await other.api(documents(`/${id}/refresh`), { method: "POST" })).status).toBe(404);
    const form = new FormData();
    form.append("file", new Blob(["words"], { type: "text/plain" }), "a.txt");
    const res = await fetch(`${hub.url}${documents()}`, { method: "POST", headers: { authorization: `Bearer ${other.key}` }, body: form });
    expect(res.status).toBe(404);
  });

  it("refreshes a page: unchanged text is not indexed again, changed text is", async () => {
    web.set("/hours", { body: PAGE("Hours", "We open at eight on Sundays for breakfast guests. ") });
    const id = (await hub.api(documents(), { body: { url: `${web.url}/hours` } })).body.id;
    const first = await settled(id);
    const passages = await hub.runtime.db.prisma.passage.findMany({ where: { documentId: id }, select: { id: true } });

    expect((await hub.api(documents(`/${id}/refresh`), { method: "POST" })).status).toBe(202);
    const unchanged = await waitFor(async () => {
      const doc = (await hub.api(documents(`/${id}`))).body;
      return doc.fetchedAt !== first.fetchedAt && doc;
    });
    expect(unchanged).toMatchObject({ status: "ready", updatedAt: first.updatedAt });
    expect(await hub.runtime.db.prisma.passage.findMany({ where: { documentId: id }, select: { id: true } })).toEqual(passages);

    web.set("/hours", { body: PAGE("Hours", "From December we open at ten on Sundays for brunch. ") });
    expect((await hub.api(documents(`/${id}/refresh`), { method: "POST" })).status).toBe(202);
    await waitFor(async () => (await search("brunch december"))[0]?.documentId === id, 60_000, "the new text indexed");
    expect(await search("breakfast guests")).toEqual([]);
    expect((await hub.api(documents(`/${id}`))).body.status).toBe("ready");

    // A page gone missing keeps what was indexed, and says why it was not refreshed.
    web.set("/hours", { status: 404, body: "gone" });
    expect((await hub.api(documents(`/${id}/refresh`), { method: "POST" })).status).toBe(202);
    const missing = await waitFor(async () => {
      const doc = (await hub.api(documents(`/${id}`))).body;
      return doc.error && doc;
    });
    expect(missing).toMatchObject({ status: "ready", error: expect.stringMatching(/Refresh failed: .*404/) });
    expect((await search("brunch december"))[0]?.documentId).toBe(id);
  });

  it("refuses to refresh a document that was not added from a URL (409)", async () => {
    const id = (await hub.api(documents(), { body: { title: "Static", content: "Nothing to fetch." } })).body.id;
    const res = await hub.api(documents(`/${id}/refresh`), { method: "POST" });
    expect(res.status).toBe(409);
    expect(res.body.error).toBe("conflict");
  });

  it("refreshes a folder's pages on its schedule", async () => {
    expect((await hub.api(`/api/folders/${folderId}`, { method: "PATCH", body: { refreshMinutes: 5 } })).status).toBe(400);
    const patched = await hub.api(`/api/folders/${folderId}`, { method: "PATCH", body: { refreshMinutes: 15 } });
    expect(patched.body.refreshMinutes).toBe(15);
    web.set("/menu", { body: PAGE("Menu", "Today's soup is tomato with basil and cream. ") });
    const id = (await hub.api(documents(), { body: { url: `${web.url}/menu` } })).body.id;
    await settled(id);
    web.set("/menu", { body: PAGE("Menu", "Today's soup is pumpkin with ginger and coconut. ") });
    // Fetched sixteen minutes ago, as far as the sweeper can tell.
    await hub.runtime.db.prisma.document.update({ where: { id }, data: { fetchedAt: new Date(Date.now() - 16 * 60_000) } });
    await waitFor(async () => (await search("pumpkin ginger"))[0]?.documentId === id, 60_000, "the scheduled refresh");
    await hub.api(`/api/folders/${folderId}`, { method: "PATCH", body: { refreshMinutes: null } });
  });

  it("indexes a folder's documents again in the language it is set to, searchable all along", async () => {
    const folder = (await hub.api("/api/folders", { body: { name: "Filial" } })).body.id;
    const text = "# Horário\n\nAbrimos as lojas de segunda a sábado, das nove às dezanove horas.";
    const doc = (await hub.api(`/api/folders/${folder}/documents`, { body: { title: "Horário", content: text } })).body.id;
    const configs = () =>
      hub.runtime.db.prisma.$queryRaw<
        { config: string }[]
      >`SELECT DISTINCT ts_config::text AS config FROM passages WHERE document_id = ${doc}::uuid`;
    expect(await configs()).toEqual([{ config: "portuguese" }]);

    const invalid = await hub.api(`/api/folders/${folder}`, { method: "PATCH", body: { language: "<klingon>" } });
    expect(invalid.status).toBe(400);
    const patched = await hub.api(`/api/folders/${folder}`, { method: "PATCH", body: { language: "simple" } });
    expect(patched.body.language).toBe("simple");
    await waitFor(async () => (await hub.api(`/api/folders/${folder}/documents/${doc}`)).body.status === "ready", 60_000, "indexed again");
    expect(await configs()).toEqual([{ config: "simple" }]);
    // 'simple' neither stems nor keeps accents: the exact words, accents or not, find it.
    const found = await hub.runtime.knowledge.search({ orgId: hub.orgId, folderIds: [folder] }, "horario segunda sabado");
    expect(found[0]?.documentId).toBe(doc);
  });

  it("indexes a folder's web pages again from their stored text, without fetching them", async () => {
    const folder = (await hub.api("/api/folders", { body: { name: "Pages" } })).body.id;
    web.set("/opening", { body: PAGE("Öffnungszeiten", "Wir öffnen montags bis samstags um neun Uhr morgens. ") });
    const id = (await hub.api(`/api/folders/${folder}/documents`, { body: { url: `${web.url}/opening` } })).body.id;
    const path = `/api/folders/${folder}/documents/${id}`;
    await waitFor(async () => (await hub.api(path)).body.status === "ready", 60_000, "indexed");
    // The site is down for maintenance: that must not cost the folder its page.
    web.set("/opening", { status: 503, body: "maintenance" });
    const fetches = web.hits("/opening");
    expect((await hub.api(`/api/folders/${folder}`, { method: "PATCH", body: { language: "simple" } })).status).toBe(200);
    const configs = () =>
      hub.runtime.db.prisma.$queryRaw<
        { config: string }[]
      >`SELECT DISTINCT ts_config::text AS config FROM passages WHERE document_id = ${id}::uuid`;
    await waitFor(async () => (await configs())[0]?.config === "simple", 60_000, "indexed again");
    // Its passages and its state change in one transaction: with the new passages, it is ready again.
    const doc = (await hub.api(path)).body;
    expect(doc).toMatchObject({ status: "ready", error: null, title: "Öffnungszeiten" });
    expect(await configs()).toEqual([{ config: "simple" }]);
    expect(web.hits("/opening")).toBe(fetches);
    const found = await hub.runtime.knowledge.search({ orgId: hub.orgId, folderIds: [folder] }, "offnen samstags");
    expect(found[0]?.documentId).toBe(id);
  });

  it("indexes a document whose job was lost (a crash, Redis emptied) once the sweeper finds it", async () => {
    const prisma = hub.runtime.db.prisma;
    // As the request left it: stored with its bytes, but no job in the queue.
    const doc = await prisma.document.create({
      data: {
        folderId,
        title: "lost.md",
        fileName: "lost.md",
        content: "",
        status: "processing",
        format: "markdown",
        original: new Uint8Array(Buffer.from("# Lost\n\nThe lighthouse tour starts at noon.")),
        updatedAt: new Date(Date.now() - 60_000),
      },
    });
    expect(await settled(doc.id)).toMatchObject({ status: "ready", passages: 1 });
    expect((await search("lighthouse tour"))[0].documentId).toBe(doc.id);

    // One that killed its worker every time it was tried ends failed rather than being tried forever.
    const poison = await prisma.document.create({
      data: {
        folderId,
        title: "poison.md",
        content: "",
        status: "processing",
        format: "markdown",
        attempts: 3,
        updatedAt: new Date(Date.now() - 60_000),
      },
    });
    const failed = await settled(poison.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/Gave up after 3 attempts/);
  });
});

describe("management API: web pages on private addresses", () => {
  let hub: TestHub;
  let web: FakeWebServer;
  beforeAll(async () => {
    web = await startFakeWebServer();
    hub = await startTestHub("pglite");
  });
  afterAll(async () => {
    await hub?.stop();
    await web?.close();
  });

  it("refuses URLs on loopback, private and link-local addresses with 422 and stores nothing", async () => {
    web.set("/page", { body: PAGE("Internal", "Only for the intranet. ") });
    const folderId = (await hub.api("/api/folders", { body: { name: "Web" } })).body.id;
    const port = new URL(web.url).port;
    for (const url of [
      `${web.url}/page`,
      `http://[::1]:${port}/page`,
      `http://localhost:${port}/page`,
      "http://10.0.0.7/",
      "http://169.254.169.254/latest/meta-data/",
    ]) {
      const res = await hub.api(`/api/folders/${folderId}/documents`, { body: { url } });
      expect(res.status).toBe(422);
      expect(res.body.message).toMatch(/private or loopback/);
    }
    expect(web.hits("/page")).toBe(0);
    expect(await hub.runtime.db.prisma.document.count({ where: { folderId } })).toBe(0);
  });
});
