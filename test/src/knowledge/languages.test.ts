import type { Database } from "../../../src/db/database";
import { KnowledgeIndex } from "../../../src/knowledge/index";
import { DB_KINDS, openTestDatabase } from "../../support/databases";

const PORTUGUESE = `# Horário de funcionamento

A loja está aberta de segunda a sexta, das 9h às 18h. Aos sábados abrimos das 10h às 14h.`;
const GERMAN = `# Rücksendungen

Sie können Artikel innerhalb von 30 Tagen zurückgeben. Die Rückerstattung erfolgt auf das ursprüngliche Zahlungsmittel.`;
const ENGLISH = `# Shipping

We ship parcels to Portugal and Poland within three working days.`;
// Czech: a language Postgres has no text-search configuration for.
const CZECH = `# Doprava

Objednávky odesíláme do tří pracovních dnů. Platba na dobírku je možná.`;

describe.each(DB_KINDS)("KnowledgeIndex in many languages (%s)", (kind) => {
  let db: Database;
  let index: KnowledgeIndex;
  let orgId: string;
  let folder: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    index = new KnowledgeIndex(db.prisma);
    orgId = (await db.prisma.org.create({ data: { name: "Lojas" } })).id;
    folder = (await db.prisma.folder.create({ data: { orgId, name: "Help" } })).id;
    for (const [title, text] of Object.entries({ Horario: PORTUGUESE, Rueckgabe: GERMAN, Shipping: ENGLISH, Doprava: CZECH })) {
      ids[title] = (await index.addDocument(folder, title, text)).id;
    }
  });
  afterAll(() => db?.close());

  const titles = async (question: string) => (await index.search({ orgId, folderIds: [folder] }, question)).map((p) => p.documentTitle);

  it("stores each document's detected language and indexes its passages with that language's configuration", async () => {
    const rows = await db.prisma.$queryRaw<{ title: string; language: string; config: string }[]>`
      SELECT DISTINCT d.title, d.language, p.ts_config::text AS config
      FROM documents d JOIN passages p ON p.document_id = d.id WHERE d.folder_id = ${folder}::uuid ORDER BY d.title`;
    expect(rows).toEqual([
      { title: "Doprava", language: "cs", config: "simple" },
      { title: "Horario", language: "pt", config: "portuguese" },
      { title: "Rueckgabe", language: "de", config: "german" },
      { title: "Shipping", language: "en", config: "english" },
    ]);
  });

  it("finds the Portuguese passage for a Portuguese question, through Portuguese stemming", async () => {
    // "horários" (plural) and "loja": the passage has "Horário" and "loja".
    expect(await titles("Quais são os horários da loja?")).toEqual(["Horario"]);
  });

  it("finds the German passage for a German question, through German stemming", async () => {
    // "zurückgeben" and "Artikel", stemmed as German; "lange" is not in the passage.
    expect(await titles("Wie lange kann ich Artikel zurückgeben?")).toEqual(["Rueckgabe"]);
    expect(await titles("Wie erfolgt die Rückerstattung?")).toEqual(["Rueckgabe"]);
  });

  it("still finds the English passage for an English question, and nothing for a question none covers", async () => {
    expect(await titles("Do you ship parcels abroad?")).toEqual(["Shipping"]);
    expect(await titles("Can I pay with bitcoin?")).toEqual([]);
  });

  it("matches a language without a configuration word for word, whatever its accents", async () => {
    // Typed without diacritics, as on a phone: "mozna", "dobirku" find "možná", "dobírku".
    expect(await titles("Je mozna platba na dobirku?")).toEqual(["Doprava"]);
    expect(await titles("Je možná platba na dobírku?")).toEqual(["Doprava"]);
  });

  it("indexes with the folder's language when it is set, instead of detecting", async () => {
    const german = (await db.prisma.folder.create({ data: { orgId, name: "Deutsch", language: "german" } })).id;
    // Too short to detect reliably: the folder says what it is.
    const doc = await index.addDocument(german, "Kurz", "Versandkosten");
    const stored = await db.prisma.$queryRaw<{ language: string; config: string }[]>`
      SELECT d.language, p.ts_config::text AS config FROM documents d JOIN passages p ON p.document_id = d.id
      WHERE d.id = ${doc.id}::uuid`;
    expect(stored).toEqual([{ language: "german", config: "german" }]);
    expect((await index.search({ orgId, folderIds: [german] }, "Versandkosten?")).map((p) => p.documentTitle)).toEqual(["Kurz"]);
  });

  it("re-indexes a document in its new language when its text changes", async () => {
    const doc = await db.prisma.document.create({ data: { folderId: folder, title: "Refresh", content: "", status: "processing" } });
    await index.indexDocument(doc.id, folder, ENGLISH.replace("Shipping", "Delivery"));
    await index.indexDocument(doc.id, folder, "# Envios\n\nEnviamos as encomendas para Portugal em três dias úteis.");
    const stored = await db.prisma.document.findUniqueOrThrow({ where: { id: doc.id } });
    expect(stored.language).toBe("pt");
    expect(await titles("Enviam encomendas para Portugal?")).toEqual(["Refresh"]);
  });
});
