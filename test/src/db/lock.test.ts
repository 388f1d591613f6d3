import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
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
  /** The lock's lines: pid, host name, pid namespace. */
  const lines = () => readFileSync(lockFile(), "utf8").split("\n");
  /** The pid namespace this process's locks name, as another process of the same namespace would write it. */
  const hereNamespace = () => {
    const release = lockDirectory(dir);
    const namespace = lines()[2];
    release();
    return namespace;
  };
  const writeLock = (pid: number, namespace: string, host = hostname()) => writeFileSync(lockFile(), `${pid}\n${host}\n${namespace}\n`);

  it("holds the directory with this process's pid, host and pid namespace, and lets go of it", () => {
    const release = lockDirectory(dir);
    const [pid, host, namespace] = lines();
    expect([pid, host]).toEqual([String(process.pid), hostname()]);
    expect(namespace).not.toBe("");
    release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it("refuses a directory a live process holds, naming it", async () => {
    const holder = spawn("sleep", ["60"]);
    try {
      writeLock(holder.pid as number, hereNamespace());
      expect(() => lockDirectory(dir)).toThrow(DirectoryInUse);
      expect(() => lockDirectory(dir)).toThrow(`${dir} is in use by process ${holder.pid}`);
      expect(lines()[0]).toBe(String(holder.pid));
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("takes over the lock of a process of its own pid namespace that died", async () => {
    writeLock(await deadPid(), hereNamespace());
    const release = lockDirectory(dir);
    expect(lines()[0]).toBe(String(process.pid));
    release();
  });

  it("does not take over a lock from another pid namespace (another container on the volume), whatever its pid", async () => {
    // Its pid is numbered in the other container: gone here, or even this process's own, it may still run there.
    for (const pid of [await deadPid(), process.pid]) {
      writeLock(pid, "pid:[4026532999] another-boot", "other-container");
      let refused: unknown;
      try {
        lockDirectory(dir);
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(DirectoryInUse);
      expect((refused as DirectoryInUse).file).toBe(lockFile());
      expect((refused as Error).message).toBe(
        `${dir} is in use by process ${pid} of host other-container, in another pid namespace (another container or machine), which this one cannot see`,
      );
      expect(lines()[1]).toBe("other-container");
    }
  });

  it("refuses a lock file it cannot read, and leaves it to the operator", () => {
    writeFileSync(lockFile(), "");
    expect(() => lockDirectory(dir)).toThrow(`${dir} is in use by another process`);
    expect(readFileSync(lockFile(), "utf8")).toBe("");
  });
});
