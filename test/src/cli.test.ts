import { writeFileSync } from "node:fs";
import path from "node:path";
import { openPGlite } from "../../src/db/database";
import { cliOnTemporaryData } from "../support/cli";

describe("npm run cli", () => {
  const { dir, run } = cliOnTemporaryData("hub-cli-");

  it("creates an org with a key, a folder, imports files into it, and an assistant using it", async () => {
    const org = JSON.parse(await run("org", "create", "Acme"));
    expect(org.api_key).toMatch(/^hub_/);
    const folder = JSON.parse(await run("folder", "create", "--org", org.org_id, "--name", "Docs"));
    const file = path.join(dir, "faq.md");
    writeFileSync(file, "# FAQ\n\nWe open at nine.\n\n## Parking\n\nThere is free parking behind the shop.");
    expect(await run("import", "--folder", folder.id, file)).toMatch(/faq\.md: \d+ passages/);
    const assistant = JSON.parse(
      await run("assistant", "create", "--org", org.org_id, "--name", "shop", "--folders", folder.id, "--suggestions", "Hours|Parking"),
    );
    expect(assistant).toMatchObject({ name: "shop", deployed: true, folderIds: [folder.id], suggestions: ["Hours", "Parking"] });

    const db = openPGlite(path.join(dir, "pglite"));
    const docs = await db.prisma.document.findMany({ where: { folderId: folder.id } });
    await db.close();
    expect(docs.map((d) => d.title)).toEqual(["faq.md"]);
  });

  it("explains itself on unknown commands", async () => {
    await expect(run("frobnicate")).rejects.toThrow(/unknown command[\s\S]*Usage/);
  });
});
