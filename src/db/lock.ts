import { linkSync, readFileSync, readlinkSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";

/** What a lock file says of the process holding the directory. */
export interface Holder {
  pid: number;
  host: string;
  /** The pid namespace the pid is numbered in (see `pidNamespace`). */
  namespace: string;
}

/** The directory is held by another process (a hub, or an `npm run cli` command), or may be. */
export class DirectoryInUse extends Error {
  constructor(
    readonly dir: string,
    /** The lock file: the one to delete, once the operator has made sure no process uses the directory. */
    readonly file: string,
    readonly holder: Holder | null,
  ) {
    super(`${dir} is in use by ${holderName(holder)}`);
    this.name = "DirectoryInUse";
  }
}

const LOCK_FILE = "hub.pid";

/**
 * Which pids this process can see. A pid means a process only in the namespace that numbered it: two
 * containers sharing a volume count from 1 each, so a pid from the other one may name no process here, or
 * an unrelated one. Containers of one machine have different namespaces (the link's inode); machines
 * sharing a volume over the network may have the same inode, but not the same boot id.
 */
function pidNamespace(): string {
  const read = (what: () => string) => {
    try {
      return what().trim();
    } catch {
      return "";
    }
  };
  const known = [read(() => readlinkSync("/proc/self/ns/pid")), read(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"))];
  // Without /proc (macOS), pids are the machine's own: its name tells machines apart.
  return known.filter(Boolean).join(" ") || `host ${hostname()}`;
}
const HERE = pidNamespace();

/**
 * Holds `dir` for this process until the returned function is called or the process exits: a lock file,
 * as Postgres keeps postmaster.pid (Node has no flock without a native addon), of three lines: the pid, the
 * host name and the pid namespace. A file left by a process that died (killed, crashed) is taken over, but
 * only when it names a pid of this namespace: of any other this process cannot tell whether it still runs.
 */
export function lockDirectory(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const mine = `${file}.${process.pid}`;
  const text = `${process.pid}\n${hostname()}\n${HERE}\n`;
  // Written whole under a private name, then linked into place: the lock never exists half-written.
  writeFileSync(mine, text);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(mine, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const found = readText(file);
      // Released meanwhile: try again, once.
      if (found === null && attempt === 0) continue;
      const holder = parse(found);
      if (attempt > 0 || !holder || !isStale(holder)) throw new DirectoryInUse(dir, file, holder);
      takeOver(file, mine, found as string, dir);
    }
  } finally {
    unlinkSync(mine);
  }
  const release = () => {
    process.off("exit", release);
    if (readText(file) === text) unlinkSync(file);
  };
  process.on("exit", release);
  return release;
}

/**
 * Removes a stale lock file, unless another process took it over in the meantime: moving it aside is atomic,
 * so of two processes finding the same stale file only one gets it, and the other puts back what it moved.
 */
function takeOver(file: string, mine: string, stale: string, dir: string) {
  const aside = `${mine}.stale`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const moved = readText(aside);
  if (moved !== stale) {
    try {
      linkSync(aside, file);
    } catch {
      // A third process locked it meanwhile: it holds the directory either way.
    }
    unlinkSync(aside);
    throw new DirectoryInUse(dir, file, parse(moved));
  }
  unlinkSync(aside);
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** Null for a file this lock did not write whole (empty, or of an older version): it names no one for sure. */
function parse(text: string | null): Holder | null {
  const [pid, host, namespace] = (text ?? "").split("\n");
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 && host && namespace ? { pid: n, host, namespace } : null;
}

function holderName(holder: Holder | null): string {
  if (!holder) return "another process";
  if (holder.namespace === HERE) return `process ${holder.pid}`;
  return `process ${holder.pid} of host ${holder.host}, in another pid namespace (another container or machine), which this one cannot see`;
}

function isStale(holder: Holder): boolean {
  if (holder.namespace !== HERE) return false;
  // The lock is not held yet, so a file naming this very process was left by an earlier one of the same pid.
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code !== "EPERM";
  }
}
