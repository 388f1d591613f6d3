import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../../src/cli";

/**
 * `npm run cli` in this process, on an embedded database of its own under a temporary DATA_DIR. Call it in
 * a describe block: it sets the environment up before the tests and puts it back after them.
 */
export function cliOnTemporaryData(prefix: string) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.DATA_DIR = dir;
    delete process.env.DATABASE_URL;
  });
  afterAll(() => {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  /** Runs one command and returns what it printed. */
  const run = async (...args: string[]) => {
    const lines: string[] = [];
    await runCli(args, (l) => lines.push(l));
    return lines.join("\n");
  };
  return { dir, run };
}
