import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cliOnTemporaryData } from "../support/cli";
import { runToEnd } from "../support/processes";

describe("npm run cli", () => {
  const { dir, run, hub } = cliOnTemporaryData("hub-cli-");

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

    const docs = await hub().runtime.db.prisma.document.findMany({ where: { folderId: folder.id } });
    expect(docs.map((d) => d.title)).toEqual(["faq.md"]);
  });

  it("adds a console operator, in the default org unless --org says otherwise, who can then sign in", async () => {
    const email = `Lead-${Date.now()}@Example.test`;
    const added = JSON.parse(await run("operator", "add", "--email", email, "--password", "a long password", "--role", "admin"));
    expect(added).toMatchObject({ email: email.toLowerCase(), role: "admin", org_id: hub().orgId });
    const signedIn = await fetch(`${hub().url}/api/console/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "a long password" }),
    });
    expect(signedIn.status).toBe(200);
    await expect(run("operator", "add", "--email", email, "--password", "a long password", "--role", "agent")).rejects.toThrow(/exists/);
    await expect(run("operator", "add", "--email", "x@example.test", "--password", "short", "--role", "agent")).rejects.toThrow(
      /10 characters/,
    );
    await expect(run("operator", "add", "--email", "x@example.test", "--password", "a long password", "--role", "boss")).rejects.toThrow(
      /admin or agent/,
    );
  });

  it("prints its usage for help, --help and -h", async () => {
    for (const asked of [["help"], ["--help"], ["-h"], ["key", "create", "--help"], []]) {
      expect(await run(...asked)).toMatch(/^Usage: npm run cli -- <command>/);
    }
  });

  it("explains itself on unknown commands", async () => {
    await expect(run("frobnicate")).rejects.toThrow(/unknown command: frobnicate[\s\S]*Usage/);
    await expect(run("org", "delete")).rejects.toThrow(/unknown command: org delete[\s\S]*Usage/);
  });
});

describe("npm run cli, as a process", () => {
  it("prints its usage and exits 0 when asked for help", async () => {
    const help = await runToEnd("npm", ["run", "--silent", "cli", "--", "help"], {});
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^Usage: npm run cli -- <command>/);
  }, 60_000);

  it("prints the usage to stderr and exits 1 on an unknown command, opening nothing", async () => {
    const dataDir = path.join(tmpdir(), `hub-cli-unknown-${process.pid}`);
    const unknown = await runToEnd("npm", ["run", "--silent", "cli", "--", "frobnicate"], { DATA_DIR: dataDir });
    expect(unknown).toMatchObject({ code: 1, stdout: "" });
    expect(unknown.stderr).toMatch(/^unknown command: frobnicate\n\nUsage: npm run cli/);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
