import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DirectoryInUse, lockDirectory } from "../../../src/db/lock";

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const proc = spawn(process.execPath, ["-e", "0"]);
  await new Promise((resolve) => proc.on("exit", resolve));
  return proc.pid as number;
}

describe("the lock of an embedded data directory", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "hub-lock-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const lockFile = () => path.join(dir, "hub.pid");

  it("holds the directory with this process's pid, and lets go of it", () => {
    const release = lockDirectory(dir);
    expect(readFileSync(lockFile(), "utf8").trim()).toBe(String(process.pid));
    release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it("refuses a directory a live process holds, naming it", async () => {
    const holder = spawn("sleep", ["60"]);
    try {
      writeFileSync(lockFile(), `${holder.pid}\n`);
      expect(() => lockDirectory(dir)).toThrow(DirectoryInUse);
      expect(() => lockDirectory(dir)).toThrow(`${dir} is in use by process ${holder.pid}`);
      expect(readFileSync(lockFile(), "utf8").trim()).toBe(String(holder.pid));
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("takes over the lock of a process that died", async () => {
    writeFileSync(lockFile(), `${await deadPid()}\n`);
    const release = lockDirectory(dir);
    expect(readFileSync(lockFile(), "utf8").trim()).toBe(String(process.pid));
    release();
  });
});
