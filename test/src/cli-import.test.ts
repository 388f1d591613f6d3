import { writeFileSync } from "node:fs";
import path from "node:path";
import { runCli } from "../../src/cli";
import { type FakeWebServer, startFakeWebServer } from "../fakes/web-server";
import { cliOnTemporaryData } from "../support/cli";
import { makeDocx, makePdf } from "../support/documents";

describe("npm run cli -- import", () => {
  const { dir, run, hub } = cliOnTemporaryData("hub-cli-import-");
  let web: FakeWebServer;
  beforeAll(async () => {
    web = await startFakeWebServer();
    // The page is served from 127.0.0.1.
    process.env.INGEST_ALLOW_PRIVATE_URLS = "true";
  });
  afterAll(() => web?.close());

  it("imports files and pages, one progress line each, then a summary naming what failed and why", async () => {
    const folder = JSON.parse(await run("folder", "create", "--name", "Imported"));
    const write = (name: string, data: string | Buffer) => {
      writeFileSync(path.join(dir, name), data);
      return path.join(dir, name);
    };
    const files = [
      write("guide.pdf", await makePdf([["Opening hours are nine to five."], ["Returns take thirty days."]], "Guide")),
      write(
        "zones.docx",
        await makeDocx("Zones", "Delivery zones.", [
          ["Zone", "Price"],
          ["North", "5"],
        ]),
      ),
      write("prices.csv", "item,price\ntea,3\ncoffee,4\n"),
      write("broken.pdf", "%PDF-1.7 this is not a PDF at all"),
    ];
    web.set("/about", {
      body: "<html><head><title>About us</title></head><body><h1>About us</h1><p>A family shop since 1921.</p></body></html>",
    });
    const lines: string[] = [];
    const imported = runCli(["import", "--folder", folder.id, ...files, `${web.url}/about`], (l) => lines.push(l));
    await expect(imported).rejects.toThrow(/1 of 5 documents failed/);

    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^\[#+\.*\] 1\/5 .*guide\.pdf: \d+ passages?/);
    expect(lines[3]).toMatch(/broken\.pdf: failed: The PDF cannot be read/);
    expect(lines[4]).toMatch(/^\[#{20}\] 5\/5 .*\/about: \d+ passages?/);
    const docs = await hub().runtime.db.prisma.document.findMany({
      where: { folderId: folder.id },
      include: { _count: { select: { passages: true } } },
    });
    const passages = docs.reduce((n, d) => n + d._count.passages, 0);
    expect(lines[5]).toMatch(new RegExp(`^4 documents, ${passages} passages?, 1 failed: .*broken\\.pdf: The PDF cannot be read`));
    expect(docs.map((d) => [d.title, d.status, d.format]).sort()).toEqual([
      ["About us", "ready", "html"],
      ["Guide", "ready", "pdf"],
      ["prices.csv", "ready", "csv"],
      ["zones.docx", "ready", "docx"],
    ]);
  });

  it("ends with the summary, and succeeds, when every document was imported", async () => {
    const folder = JSON.parse(await run("folder", "create", "--name", "Fine"));
    const file = path.join(dir, "faq.md");
    writeFileSync(file, "# FAQ\n\nWe open at nine.");
    expect((await run("import", "--folder", folder.id, file)).split("\n").at(-1)).toBe("1 document, 1 passage");
  });
});
