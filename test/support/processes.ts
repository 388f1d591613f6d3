import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { NO_BURSTS } from "./env";

const ROOT = path.join(__dirname, "../..");

export interface HubProcess {
  proc: ChildProcess;
  /** The gateway's URL, or null for a worker-only process. */
  url: string | null;
  exited: Promise<number | null>;
  output(): string;
}

/** Runs `npm start`'s entry point in a child process and resolves once it logs that it started. */
export function spawnHub(env: Record<string, string>, nodeArgs: string[] = []): Promise<HubProcess> {
  // tsx as a loader, not its CLI: the CLI runs the program in a child process, which a SIGKILL would orphan.
  return spawnUntilStarted(process.execPath, [...nodeArgs, "--import", "tsx", path.join(ROOT, "src/main.ts")], { ...NO_BURSTS, ...env });
}

/** Runs a command that starts a hub (`npm start`, the entry point) and resolves once the hub logs that it started. */
export function spawnUntilStarted(
  command: string,
  args: string[],
  env: Record<string, string>,
  { detached = false, cwd = ROOT } = {},
): Promise<HubProcess> {
  const proc = spawn(command, args, {
    cwd,
    detached,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let started = false;
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      // Scanned until the start line: a busy hub logs a line a turn, and rescanning all of it grows quadratically.
      if (started) return;
      // Complete lines only: a chunk may end inside the start line.
      const line = out
        .split("\n")
        .slice(0, -1)
        .find((l) => l.includes('"hub started"'));
      if (!line) return;
      started = true;
      resolve({ proc, url: (JSON.parse(line) as { url: string | null }).url, exited, output: () => out });
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    exited.then((code) => reject(new Error(`hub exited with ${code} before it started:\n${out}`)));
  });
}

/**
 * Runs a command to its end, as a user would in the repository (`npm run cli -- ...`), and returns its exit
 * code and output. Killed after `timeoutMs` (code null), so a command that should end but hangs fails a test.
 */
export async function runToEnd(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000, cwd = ROOT) {
  const proc = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  proc.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.on("close", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

/** A private Redis server this test may stop and start (the shared one stays up for the other tests). */
export async function startPrivateRedis(port?: number) {
  const p = port ?? (await freePort());
  const proc = spawn("redis-server", ["--port", String(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const url = `redis://127.0.0.1:${p}`;
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = require("node:net").connect(p, "127.0.0.1", () => {
        s.end();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error("private redis did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: p,
    url,
    async stop() {
      proc.kill("SIGKILL");
      await new Promise((r) => proc.once("exit", r));
    },
  };
}

type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

// A busy machine (CI's is as busy as a developer's) can be many times slower than an idle one. A wait that
// succeeds costs only as long as its condition takes, so every wait gets at least this long before failing.
const LEAST_WAIT_MS = 60_000;

/** Polls `check` until it returns something truthy, and returns that; fails after `timeoutMs` (at least a minute). */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = LEAST_WAIT_MS, what = "condition"): Promise<Truthy<T>> {
  const deadline = Date.now() + Math.max(timeoutMs, LEAST_WAIT_MS);
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A private Postgres server this test may restart (the shared one stays up for the other tests), from the
 * machine's own Postgres binaries. initdb refuses to run as root, so as root it runs as `postgres`.
 */
export async function startPrivatePostgres() {
  const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
  const { mkdtempSync, chownSync, rmSync, readdirSync } = require("node:fs") as typeof import("node:fs");
  const bin = `/usr/lib/postgresql/${readdirSync("/usr/lib/postgresql").sort().at(-1)}/bin`;
  const dir = mkdtempSync(path.join(require("node:os").tmpdir(), "hub-pg-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot)
    chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), Number(execFileSync("id", ["-g", "postgres"]).toString()));
  const run = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? "runuser" : `${bin}/${cmd}`, asRoot ? ["-u", "postgres", "--", `${bin}/${cmd}`, ...args] : args, {
      stdio: "ignore",
    });
  const port = await freePort();
  run("initdb", ["-D", `${dir}/data`, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]);
  const start = () =>
    run("pg_ctl", [
      "-D",
      `${dir}/data`,
      "-w",
      "-l",
      `${dir}/log`,
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "start",
    ]);
  start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: () => run("pg_ctl", ["-D", `${dir}/data`, "-w", "-m", "fast", "stop"]),
    start,
    destroy() {
      try {
        run("pg_ctl", ["-D", `${dir}/data`, "-w", "-m", "immediate", "stop"]);
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
