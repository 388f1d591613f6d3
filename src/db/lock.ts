import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The directory is held by another live process (a hub, or an `npm run cli` command). */
export class DirectoryInUse extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number | null,
  ) {
    super(`${dir} is in use by ${pid ? `process ${pid}` : "another process"}`);
    this.name = "DirectoryInUse";
  }
}

const LOCK_FILE = "hub.pid";

/**
 * Holds `dir` for this process until the returned function is called or the process exits: a pid file, as
 * Postgres keeps postmaster.pid (Node has no flock without a native addon). A file left by a process that
 * died (killed, crashed) names a pid no longer alive, and is taken over.
 */
export function lockDirectory(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const mine = `${file}.${process.pid}`;
  // Written whole under a private name, then linked into place: the lock never exists half-written.
  writeFileSync(mine, `${process.pid}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(mine, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = readPid(file);
      if ((holder !== null && isAlive(holder)) || attempt > 0) throw new DirectoryInUse(dir, holder);
      // Gone meanwhile (null): try again; left by a dead process: take it over.
      if (holder !== null) takeOver(file, mine, holder, dir);
    }
  } finally {
    unlinkSync(mine);
  }
  const release = () => {
    process.off("exit", release);
    if (readPid(file) === process.pid) unlinkSync(file);
  };
  process.on("exit", release);
  return release;
}

/**
 * Removes a stale lock file, unless another process took it over in the meantime: moving it aside is atomic,
 * so of two processes finding the same stale file only one gets it, and the other puts back what it moved.
 */
function takeOver(file: string, mine: string, stale: number, dir: string) {
  const aside = `${mine}.stale`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const moved = readPid(aside);
  if (moved !== stale) {
    try {
      linkSync(aside, file);
    } catch {
      // A third process locked it meanwhile: it holds the directory either way.
    }
    unlinkSync(aside);
    throw new DirectoryInUse(dir, moved);
  }
  unlinkSync(aside);
}

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  // The lock is not held yet, so a file naming this very process is stale (a restarted container reuses pids).
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
