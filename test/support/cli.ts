import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../../src/cli";
import { startTestHub, type TestHub } from "./hub";

/**
 * `npm run cli` in this process, as a user runs it next to a hub on the embedded database: the hub (in this
 * process too) holds a temporary DATA_DIR, and each command goes to it. Call it in a describe block: it
 * starts the hub and sets the environment up before the tests, and puts both back after them.
 */
export function cliOnTemporaryData(prefix: string) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const saved = { ...process.env };
  let hub: TestHub;
  beforeAll(async () => {
    process.env.DATA_DIR = dir;
    delete process.env.DATABASE_URL;
    hub = await startTestHub("pglite", { DATA_DIR: dir });
  }, 120_000);
  afterAll(async () => {
    await hub?.stop();
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  /** Runs one command and returns what it printed. */
  const run = async (...args: string[]) => {
    const lines: string[] = [];
    await runCli(args, (l) => lines.push(l));
    return lines.join("\n");
  };
  return { dir, run, hub: () => hub };
}
