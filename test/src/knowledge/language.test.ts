import { detectLanguage, isLanguage, TextSearchLanguages, UNDETERMINED, unaccent } from "../../../src/knowledge/language";

describe("languages of knowledge", () => {
  const languages = new TextSearchLanguages(new Set(["simple", "english", "german", "portuguese"]));

  it("maps a language to the text-search configuration the database has for it, else 'simple'", () => {
    expect(languages.configFor("de")).toBe("german");
    expect(languages.configFor("pt-BR")).toBe("portuguese");
    expect(languages.configFor("German")).toBe("german");
    // Postgres ships French, but this database has no such configuration.
    expect(languages.configFor("fr")).toBe("simple");
    expect(languages.configFor("cs")).toBe("simple");
    // Rows indexed before languages were detected were indexed as English; so is text too mixed to tell.
    expect(languages.configFor(null)).toBe("english");
    expect(languages.configFor(UNDETERMINED)).toBe("english");
  });

  it("detects the language of a document's text, and says when it cannot", () => {
    expect(detectLanguage("Sie können Artikel innerhalb von 30 Tagen zurückgeben.")).toBe("de");
    expect(detectLanguage("A loja está aberta de segunda a sexta, das 9h às 18h.")).toBe("pt");
    expect(detectLanguage("We ship parcels to Portugal and Poland within three working days.")).toBe("en");
    expect(detectLanguage("12345 !!!")).toBe(UNDETERMINED);
    // A near tie is no answer (this one is Romanian by a hair), and markup and addresses are not words.
    expect(detectLanguage("Descaling the toaster: use vinegar.")).toBe(UNDETERMINED);
    const markup = '<script>window.pwned = "x"</script> <a href="https://shop.example/de/hilfe?x=1">Hilfe</a>';
    expect(detectLanguage(`${markup} Sie können Artikel innerhalb von 30 Tagen zurückgeben.`)).toBe("de");
  });

  it("reads a document with a Markdown table in the language of its words", () => {
    const table = "| Treatment | Price |\n| --- | --- |\n| Check-up | £45 |\n| Hygiene visit | £60 |\n| White filling | £120 |";
    expect(detectLanguage(`# Prices\n\nWhat our treatments cost, including the check-up.\n\n${table}`)).toBe("en");
    const tabelle = "| Leistung | Preis |\n| --- | --- |\n| Herrenschnitt | 28 Euro |\n| Kinderschnitt | 18 Euro |";
    expect(detectLanguage(`# Preise\n\nUnsere Preise für Schnitt und Farbe.\n\n${tabelle}`)).toBe("de");
  });

  it("folds accents and case, the letters that do not decompose included", () => {
    expect(unaccent("Café Ñandú ÖFFNUNGSZEITEN")).toBe("cafe nandu offnungszeiten");
    expect(unaccent("Płatność Straße Ærø")).toBe("platnosc strasse aero");
  });

  it("lets a folder be set to a known two-letter code (with a region or script) or a configuration's name, nothing else", () => {
    for (const ok of ["de", "pt-BR", "sr_Latn", "cs", "german", "simple"]) expect(isLanguage(ok)).toBe(true);
    // Three-letter codes would be indexed as 'simple' without a word: German as "deu" is refused, not misfiled.
    for (const no of ["deu", "por", "und", "xx", "qq-BR", "klingon", "de-", "<b>", ""]) expect(isLanguage(no)).toBe(false);
  });
});
