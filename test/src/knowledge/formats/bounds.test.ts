import { checkDocument, DEFAULT_LIMITS, parseAs } from "../../../../src/knowledge/formats";
import { makeDocxBomb, makePdfBomb } from "../../../support/bombs";
import { makePdf, rejection } from "../../../support/documents";

// Files made to take the hub down (zip bombs, a PDF stream that inflates to hundreds of megabytes, a file
// that takes long to read) are refused with 422 while the process stays within bounds, and the next file
// is read as usual.

const MB = 1024 * 1024;

/** The promise's outcome, and how much the process's resident memory grew at most while it ran. */
async function peakGrowth<T>(run: () => Promise<T>): Promise<{ outcome: Promise<T>; growthMb: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const poll = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const outcome = run();
  await outcome.catch(() => {});
  clearInterval(poll);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { outcome, growthMb: (peak - start) / MB };
}

const stillReads = async () => {
  const doc = await parseAs("pdf", await makePdf([["Still reading files"]]), "after.pdf");
  expect(doc.markdown).toBe("Still reading files");
};

describe("bounded parsing", () => {
  it("refuses a DOCX declaring 300 MB once decompressed, before decompressing it", async () => {
    const bomb = await makeDocxBomb(300);
    expect(bomb.length).toBeLessThan(MB);
    const { outcome, growthMb } = await peakGrowth(() => parseAs("docx", bomb));
    const err = await rejection(outcome);
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/DOCX document is too large once decompressed/);
    expect(growthMb).toBeLessThan(300);
    // Refused at upload too, so that nothing is stored.
    expect((await rejection(checkDocument(bomb, "docx"))).message).toMatch(/too large once decompressed/);
    await stillReads();
  });

  it("refuses a DOCX whose headers lie about its size, counting as it inflates", async () => {
    const bomb = await makeDocxBomb(300, true);
    const { outcome, growthMb } = await peakGrowth(() => parseAs("docx", bomb));
    const err = await rejection(outcome);
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/too large once decompressed/);
    expect(growthMb).toBeLessThan(300);
    await stillReads();
  });

  it("reads a DOCX that inflates to a few megabytes", async () => {
    const doc = await parseAs("docx", await makeDocxBomb(5), "spaces.docx");
    expect(doc).toMatchObject({ format: "docx", markdown: "Boom" });
  });

  it("ends the reading of a PDF whose content stream inflates past the memory limit", async () => {
    const bomb = await makePdfBomb(400);
    expect(bomb.length).toBeLessThan(MB);
    const { outcome, growthMb } = await peakGrowth(() => parseAs("pdf", bomb, undefined, undefined, { ...DEFAULT_LIMITS, memoryMb: 128 }));
    const err = await rejection(outcome);
    expect(err.status).toBe(422);
    expect(err.message).toBe("The PDF document needs more memory than allowed to read (128 MB)");
    expect(growthMb).toBeLessThan(300);
    await stillReads();
  });

  it("ends the reading of a page whose document tree outgrows the memory limit", async () => {
    const page = Buffer.from(`<html><body>${"<div><p>word word</p></div>".repeat(400_000)}</body></html>`);
    const limits = { ...DEFAULT_LIMITS, memoryMb: 64 };
    const { outcome, growthMb } = await peakGrowth(() => parseAs("html", page, undefined, undefined, limits));
    const err = await rejection(outcome);
    expect(err.status).toBe(422);
    expect(err.message).toBe("The HTML document needs more memory than allowed to read (64 MB)");
    expect(growthMb).toBeLessThan(300);
    const small = await parseAs(
      "html",
      Buffer.from("<html><body><p>A page of a few words</p></body></html>"),
      undefined,
      undefined,
      limits,
    );
    expect(small.markdown).toBe("A page of a few words");
  });

  it("ends a reading that takes longer than the time limit, and reads the same file without one", async () => {
    const pages = Array.from({ length: 300 }, (_, p) =>
      Array.from({ length: 15 }, (_, l) => `Page ${p + 1}, line ${l + 1} of a long manual`),
    );
    const manual = await makePdf(pages);
    const err = await rejection(parseAs("pdf", manual, undefined, undefined, { ...DEFAULT_LIMITS, timeoutMs: 20 }));
    expect(err.status).toBe(422);
    expect(err.message).toBe("The PDF document took longer than 0.02 s to read");
    const doc = await parseAs("pdf", manual);
    expect(doc.markdown.split("\f")).toHaveLength(300);
  });

  it("refuses a PDF of more than 2,000 pages at upload", async () => {
    const err = await rejection(checkDocument(await makePdf(Array.from({ length: 2001 }, () => [])), "pdf"));
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/2001 pages; the hub reads at most 2000/);
  });
});
