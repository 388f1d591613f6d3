import { parseDocument } from "../../../../src/knowledge/formats";
import { DOCX_TYPE, makeDocx, makePasswordPdf, makePdf, rejection } from "../../../support/documents";

describe("parseDocument", () => {
  it("reads a PDF's pages, separated by form feeds, and its title", async () => {
    const bytes = await makePdf(
      [
        ["Opening hours", "We open at nine."],
        ["Returns", "Thirty days to return an item."],
      ],
      "Store guide",
    );
    const doc = await parseDocument({ bytes, contentType: "application/pdf", fileName: "guide.pdf" });
    expect(doc.format).toBe("pdf");
    expect(doc.title).toBe("Store guide");
    const pages = doc.markdown.split("\f");
    expect(pages).toHaveLength(2);
    expect(pages[0]).toContain("We open at nine.");
    expect(pages[1]).toContain("Thirty days to return an item.");
    expect(pages[1]).not.toContain("nine");
  });

  it("names a PDF without a title after its file", async () => {
    const doc = await parseDocument({ bytes: await makePdf([["Hello"]]), contentType: "application/octet-stream", fileName: "plain.pdf" });
    expect(doc).toMatchObject({ format: "pdf", title: "plain.pdf" });
  });

  it("refuses a password-protected PDF and a corrupt one with 422 saying why", async () => {
    const locked = await rejection(parseDocument({ bytes: await makePasswordPdf(), contentType: "application/pdf" }));
    expect(locked.status).toBe(422);
    expect(locked.message).toMatch(/password/);
    const pdf = await makePdf([["Some text"]]);
    const corrupt = await rejection(
      parseDocument({ bytes: Buffer.concat([pdf.subarray(0, 40), Buffer.from("garbage")]), contentType: "application/pdf" }),
    );
    expect(corrupt.status).toBe(422);
    expect(corrupt.message).toMatch(/PDF/);
  });

  it("reads a DOCX's heading and table as Markdown", async () => {
    const bytes = await makeDocx("Delivery", "We deliver every weekday.", [
      ["Zone", "Price"],
      ["City", "5 EUR"],
      ["Region | far", "9 EUR"],
    ]);
    const doc = await parseDocument({ bytes, contentType: DOCX_TYPE, fileName: "delivery.docx" });
    expect(doc).toMatchObject({ format: "docx", title: "delivery.docx" });
    expect(doc.markdown).toContain("# Delivery");
    expect(doc.markdown).toContain("We deliver every weekday.");
    expect(doc.markdown).toContain("| Zone | Price |\n| --- | --- |\n| City | 5 EUR |\n| Region \\| far | 9 EUR |");
  });

  it("refuses a file that is not a DOCX, or a password-protected one, with 422", async () => {
    const err = await rejection(parseDocument({ bytes: Buffer.from("not a zip"), contentType: DOCX_TYPE }));
    expect(err.status).toBe(422);
    // Word encrypts a document with a password into an OLE compound file.
    const ole = Buffer.concat([Buffer.from("d0cf11e0a1b11ae1", "hex"), Buffer.alloc(512)]);
    const locked = await rejection(parseDocument({ bytes: ole, contentType: DOCX_TYPE }));
    expect(locked.status).toBe(422);
    expect(locked.message).toMatch(/password-protected/);
  });

  it("reads CSV as a Markdown table, header row first, in the delimiter it uses", async () => {
    const comma = await parseDocument({ bytes: Buffer.from('\ufeffname,price\n"Tea, green",3\nCoffee,4\n'), contentType: "text/csv" });
    expect(comma.markdown).toBe("| name | price |\n| --- | --- |\n| Tea, green | 3 |\n| Coffee | 4 |");
    const semicolon = await parseDocument({ bytes: Buffer.from("Produkt;Preis\nTee;3,50\n"), contentType: "text/csv; charset=utf-8" });
    expect(semicolon.markdown).toBe("| Produkt | Preis |\n| --- | --- |\n| Tee | 3,50 |");
  });

  it("keeps a page's main content, headings with their ids and tables, and drops navigation and footers", async () => {
    const html = `<!doctype html><html><head><title>Help centre</title></head><body>
      <nav><a href="/">Home</a> <a href="/shop">Shop everything now</a></nav>
      <article>
        <h1>Help centre</h1>
        <p>${"Our shop answers questions about orders, deliveries and returns. ".repeat(4)}</p>
        <h2 id="opening-hours">Opening hours</h2>
        <p>${"We are open from nine to five on weekdays, and from ten to two on Saturdays. ".repeat(3)}</p>
        <table><thead><tr><th>Day</th><th>Hours</th></tr></thead><tbody><tr><td>Monday</td><td>9-17</td></tr></tbody></table>
      </article>
      <footer>Copyright Example Shop, all rights reserved. Cookie settings.</footer>
    </body></html>`;
    const doc = await parseDocument({ bytes: Buffer.from(html), contentType: "text/html" });
    expect(doc.title).toBe("Help centre");
    expect(doc.markdown).toContain("## Opening hours {#opening-hours}");
    expect(doc.markdown).toContain("We are open from nine to five");
    expect(doc.markdown).toContain("| Day | Hours |\n| --- | --- |\n| Monday | 9-17 |");
    expect(doc.markdown).not.toContain("Copyright");
    expect(doc.markdown).not.toContain("Shop everything now");
  });

  it("drops navigation and the site's header and footer from a short page too, not an article's own", async () => {
    const html = `<html><head><title>Contact</title></head><body>
      <header>Example Shop logo and search</header><nav>Home | Shop | Blog</nav>
      <main><article><header><h1 id="contact">Contact us</h1></header><p>Call 555-0100 on weekdays.</p></article></main>
      <aside>Related posts</aside><footer>Imprint and privacy policy</footer></body></html>`;
    const { markdown } = await parseDocument({ bytes: Buffer.from(html), contentType: "text/html" });
    expect(markdown).toBe("# Contact us {#contact}\n\nCall 555-0100 on weekdays.");
    for (const chrome of ["logo", "Blog", "Related posts", "Imprint"]) expect(markdown).not.toContain(chrome);
  });

  it("reads HTML that leaves out <html> and <body>, as HTML5 allows", async () => {
    for (const html of [
      "<!doctype html><title>Hours</title><h1>Opening hours</h1><p>We open at nine on weekdays.</p>",
      "<h2>Opening hours</h2><p>We open at nine on weekdays.</p>",
      "<div>We open at nine on weekdays.</div>",
    ]) {
      const { markdown } = await parseDocument({ bytes: Buffer.from(html), contentType: "text/html" });
      expect(markdown).toContain("We open at nine on weekdays.");
    }
  });

  it("makes a fetched page's links absolute", async () => {
    const html = `<html><body><article><h1>Shipping</h1><p>See <a href="/returns#refunds">returns</a> and <a href="#top">the top</a>.</p></article></body></html>`;
    const { markdown } = await parseDocument({
      bytes: Buffer.from(html),
      contentType: "text/html",
      url: "https://shop.example/help/shipping",
    });
    expect(markdown).toContain("[returns](https://shop.example/returns#refunds)");
    expect(markdown).toContain("[the top](#top)");
  });

  it("keeps Markdown and text as they are", async () => {
    const md = await parseDocument({ bytes: Buffer.from("# Title\n\nBody"), contentType: "text/markdown" });
    expect(md).toMatchObject({ format: "markdown", markdown: "# Title\n\nBody", title: null });
    const txt = await parseDocument({ bytes: Buffer.from("plain words"), contentType: "text/plain", fileName: "a.txt" });
    expect(txt).toMatchObject({ format: "text", markdown: "plain words", title: "a.txt" });
  });

  it("refuses an unsupported type with 415 naming the supported ones", async () => {
    const err = await rejection(parseDocument({ bytes: Buffer.from("GIF89a"), contentType: "image/gif" }));
    expect(err.status).toBe(415);
    expect(err.message).toContain("application/pdf");
    expect(err.message).toContain("text/csv");
    const byName = await rejection(parseDocument({ bytes: Buffer.from("x"), contentType: "application/octet-stream", fileName: "a.exe" }));
    expect(byName.status).toBe(415);
  });
});
