import type { Database } from "../../../src/db/database";
import { KnowledgeIndex } from "../../../src/knowledge/index";
import { DB_KINDS, openTestDatabase } from "../../support/databases";

const PASSWORDS = `# Passwords

## Resetting your password

To reset your password, open the login page, click "Forgot password" and follow the link we email you.

## Password rules

Passwords need at least 12 characters.`;
const SHIPPING = `# Shipping\n\nWe ship parcels to Portugal and Poland within three working days.`;
const RETURNS = `# Returns\n\nParcels can be returned within 30 days; we refund the shipping too.`;

describe.each(DB_KINDS)("KnowledgeIndex (%s)", (kind) => {
  let db: Database;
  let index: KnowledgeIndex;
  let faq: string;
  let logistics: string;
  let other: string;
  let orgId: string;

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    index = new KnowledgeIndex(db.prisma);
    const org = await db.prisma.org.create({ data: { name: "Acme" } });
    orgId = org.id;
    const folder = (name: string) => db.prisma.folder.create({ data: { orgId: org.id, name } }).then((f) => f.id);
    faq = await folder("FAQ");
    logistics = await folder("Logistics");
    other = await folder("Other");
    await index.addDocument(faq, "Password_Policy_v2", PASSWORDS);
    await index.addDocument(logistics, "Shipping_FAQ", SHIPPING);
    await index.addDocument(other, "Returns_Policy", RETURNS);
  });
  afterAll(() => db?.close());

  it("stores a document with its passages, in order", async () => {
    const doc = await index.addDocument(faq, "Hours", "# Hours\n\nWe open at nine.\n\n## Weekends\n\nClosed on Sundays.");
    expect(doc).toMatchObject({ title: "Hours", passages: 2 });
    const passages = await db.prisma.passage.findMany({ where: { documentId: doc.id }, orderBy: { position: "asc" } });
    expect(passages.map((p) => [p.position, p.folderId, p.content])).toEqual([
      [0, faq, "# Hours\nWe open at nine."],
      [1, faq, "## Weekends\nClosed on Sundays."],
    ]);
  });

  it("stores where each passage sits: its heading path, page and anchor", async () => {
    const doc = await index.addDocument(faq, "Guide", "# Store {#store}\n\n## Hours\n\nNine to five.\f## Parking\n\nBehind the shop.");
    const passages = await db.prisma.passage.findMany({ where: { documentId: doc.id }, orderBy: { position: "asc" } });
    expect(passages.map((p) => [p.heading, p.page, p.anchor])).toEqual([
      ["Store > Hours", 1, "store"],
      ["Store > Parking", 2, "store"],
    ]);
  });

  it("finds a document's passages by words only its title has", async () => {
    const doc = await index.addDocument(other, "Moda Lumbre returns", "# Returns\n\nClothes can be brought back within 30 days.");
    const found = await index.search({ orgId, folderIds: [other] }, "Can I bring clothes back to Moda Lumbre?");
    expect(found.map((p) => p.documentId)).toEqual([doc.id]);
  });

  it("leaves one version's passages when a document is indexed twice at once", async () => {
    const doc = await index.addDocument(faq, "Twice", "# Twice\n\nThe first text.");
    const versions = Array.from({ length: 6 }, (_, i) => `# Twice\n\nVersion ${i}, one.\n\n## More\n\nVersion ${i}, two.`);
    await Promise.all(versions.map((text) => index.indexDocument(doc.id, faq, text)));
    const passages = await db.prisma.passage.findMany({ where: { documentId: doc.id }, orderBy: { position: "asc" } });
    const { content } = await db.prisma.document.findUniqueOrThrow({ where: { id: doc.id } });
    expect(passages.map((p) => p.position)).toEqual([0, 1]);
    expect(passages.map((p) => p.content).join("\n")).toContain(content.match(/Version \d/)?.[0]);
    expect(new Set(passages.map((p) => p.content.match(/Version \d/)?.[0])).size).toBe(1);
  });

  it("finds the passage that answers a question first, with its document's title", async () => {
    const found = await index.search({ orgId, folderIds: [faq, logistics] }, "How do I reset my password?");
    expect(found[0]).toMatchObject({ documentTitle: "Password_Policy_v2" });
    expect(found[0].content).toContain("Forgot password");
    expect(found[0].rank).toBeGreaterThan(0);
    for (let i = 1; i < found.length; i++) expect(found[i].rank).toBeLessThanOrEqual(found[i - 1].rank);
  });

  it("matches most of the question's words, stemmed", async () => {
    const found = await index.search({ orgId, folderIds: [logistics] }, "Do you deliver parcels to poland?");
    expect(found.map((p) => p.documentTitle)).toEqual(["Shipping_FAQ"]);
  });

  it("searches only the folders it is given", async () => {
    const found = await index.search({ orgId, folderIds: [logistics] }, "shipping parcels");
    expect(found.map((p) => p.documentTitle)).toEqual(["Shipping_FAQ"]);
    expect(await index.search({ orgId, folderIds: [logistics] }, "reset password")).toEqual([]);
    expect(await index.search({ orgId, folderIds: [] }, "reset password")).toEqual([]);
  });

  it("searches all of the org's folders when none are named, and never another org's", async () => {
    const rival = await db.prisma.org.create({ data: { name: "Rival" } });
    const theirs = await db.prisma.folder.create({ data: { orgId: rival.id, name: "FAQ" } });
    await index.addDocument(theirs.id, "Rival_Passwords", PASSWORDS);

    const parcels = await index.search({ orgId }, "shipping parcels", 10);
    expect(new Set(parcels.map((p) => p.documentTitle))).toEqual(new Set(["Shipping_FAQ", "Returns_Policy"]));
    const passwords = await index.search({ orgId }, "reset password", 10);
    expect(new Set(passwords.map((p) => p.documentTitle))).toEqual(new Set(["Password_Policy_v2"]));
    expect(await index.search({ orgId, folderIds: [theirs.id] }, "reset password")).toEqual([]);
    expect(new Set((await index.search({ orgId: rival.id }, "reset password")).map((p) => p.documentTitle))).toEqual(
      new Set(["Rival_Passwords"]),
    );
  });

  it("returns nothing when no word of the query matches", async () => {
    expect(await index.search({ orgId, folderIds: [faq, logistics, other] }, "zebra quantum xylophone")).toEqual([]);
    expect(await index.search({ orgId, folderIds: [faq, logistics, other] }, "a ? ! ...")).toEqual([]);
    expect(await index.search({ orgId, folderIds: [faq, logistics, other] }, "what is it")).toEqual([]);
  });

  it("limits the number of passages", async () => {
    expect(await index.search({ orgId, folderIds: [faq, logistics, other] }, "password parcels shipping", 1)).toHaveLength(1);
  });

  it("takes SQL and tsquery metacharacters in the query as plain text", async () => {
    for (const query of [
      "password' OR 1=1 --",
      "reset & password",
      "reset | !password",
      "pass:* (reset",
      "'); DROP TABLE passages; --",
      "\\ <-> ''",
      "ñ café 日本語 🎉 über",
    ]) {
      await expect(index.search({ orgId, folderIds: [faq] }, query)).resolves.toBeInstanceOf(Array);
    }
    expect((await index.search({ orgId, folderIds: [faq] }, "password' OR 1=1 --"))[0].documentTitle).toBe("Password_Policy_v2");
    expect(await db.prisma.passage.count()).toBeGreaterThan(0);
  });
});

describe.each(DB_KINDS)("KnowledgeIndex relevance floor (%s)", (kind) => {
  let db: Database;
  let index: KnowledgeIndex;
  let orgId: string;

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    index = new KnowledgeIndex(db.prisma);
    orgId = (await db.prisma.org.create({ data: { name: "Floor" } })).id;
  });
  afterAll(() => db?.close());

  it("finds nothing for a question a passage shares one common word with, and the passage that answers it once there is one", async () => {
    const folder = (await db.prisma.folder.create({ data: { orgId, name: "FAQ" } })).id;
    await index.addDocument(folder, "Password_Policy_v2", PASSWORDS);
    // "open" (the login page) is the only word of the question the password passage has.
    expect(await index.search({ orgId, folderIds: [folder] }, "What are your opening hours?")).toEqual([]);

    await index.addDocument(folder, "Opening_Hours", "# Opening hours\n\nThe shop is open from nine to six, Monday to Saturday.");
    const found = await index.search({ orgId, folderIds: [folder] }, "What are your opening hours?");
    expect(found.map((p) => p.documentTitle)).toEqual(["Opening_Hours"]);
  });

  it("leaves out the words that only ask: how much, how long does it take", async () => {
    const folder = (await db.prisma.folder.create({ data: { orgId, name: "Cafe" } })).id;
    const menu = [
      "# Menu\n\n## Coffee\n\nA cappuccino costs £3.20 and a flat white £3.40, with oat milk at no extra charge.",
      "## Cakes\n\nCarrot cake is £4.00 a slice.",
    ].join("\n\n");
    await index.addDocument(folder, "Menu", menu);
    await index.addDocument(folder, "Refunds", "# Refunds\n\nRefunds to PayPal arrive within three working days.");
    const [cappuccino] = await index.search({ orgId, folderIds: [folder] }, "How much is a cappuccino?");
    expect(cappuccino.content).toContain("cappuccino costs £3.20");
    const [refund] = await index.search({ orgId, folderIds: [folder] }, "How long does a PayPal refund take?");
    expect(refund.content).toContain("three working days");
  });

  it("weighs a word few passages have above one many have", async () => {
    const folder = (await db.prisma.folder.create({ data: { orgId, name: "Delivery" } })).id;
    const delivery = [
      "# Delivery\n\n## In the UK\n\nWe deliver within the UK in two days.",
      "## Weekends\n\nWe deliver on Saturdays too.",
      "## Abroad\n\nWe ship to Canada and Australia in ten days.",
    ].join("\n\n");
    await index.addDocument(folder, "Delivery", delivery);
    // "Canada" is in one passage of three, "deliver" in two: the passages with "deliver" alone cover too little.
    const found = await index.search({ orgId, folderIds: [folder] }, "Do you deliver to Canada?");
    expect(found.map((p) => p.content)).toEqual([expect.stringContaining("ship to Canada")]);
  });

  it("drops a passage that covers only a third of the question", async () => {
    const folder = (await db.prisma.folder.create({ data: { orgId, name: "Billing" } })).id;
    await index.addDocument(folder, "Invoices", "# Invoices\n\nInvoices are emailed monthly.");
    await index.addDocument(folder, "Invoice_Address", "# Invoice address\n\nChange the invoice address in your account settings.");
    const found = await index.search({ orgId, folderIds: [folder] }, "How do I change my invoice address?");
    expect(found.map((p) => p.documentTitle)).toEqual(["Invoice_Address"]);
  });

  it("returns where a passage comes from: its document's URL", async () => {
    const folder = (await db.prisma.folder.create({ data: { orgId, name: "Web" } })).id;
    const doc = await db.prisma.document.create({
      data: { folderId: folder, title: "Delivery", content: "", status: "processing", sourceUrl: "https://shop.example/delivery" },
    });
    await index.indexDocument(doc.id, folder, "# Delivery\n\nParcels arrive within two working days.");
    const [found] = await index.search({ orgId, folderIds: [folder] }, "When do parcels arrive?");
    expect(found).toMatchObject({ documentId: doc.id, documentTitle: "Delivery", sourceUrl: "https://shop.example/delivery" });
    expect(found).toHaveProperty("heading");
    expect(found).toHaveProperty("page");
    expect(found).toHaveProperty("anchor");
  });
});
