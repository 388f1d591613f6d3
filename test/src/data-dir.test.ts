import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../../src/cli";
import { ConfigError, loadConfig } from "../../src/config";
import { lockDirectory } from "../../src/db/lock";
import { startHub } from "../../src/main";
import { REDIS_URL } from "../support/env";
import { type HubProcess, runToEnd, spawnHub } from "../support/processes";

// PGlite is single-process: one process at a time may hold an embedded DATA_DIR. A second hub refuses to
// start, and `npm run cli` sends its commands to the hub holding it.

jest.setTimeout(180_000);

const cli = (env: Record<string, string>, ...args: string[]) => runToEnd("npm", ["run", "--silent", "cli", "--", ...args], env);

describe("one process per embedded DATA_DIR", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "hub-datadir-"));
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    REDIS_URL,
    QUEUE_PREFIX: `d${Date.now().toString(36)}`,
    BOOTSTRAP_API_KEY: "data-dir-test-key-0123456789",
    SHUTDOWN_TIMEOUT_MS: "2000",
  };
  let hub: HubProcess;
  beforeAll(async () => {
    hub = await spawnHub(env);
  });
  afterAll(async () => {
    hub.proc.kill("SIGKILL");
    await hub.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses a second hub on the same DATA_DIR in one line, naming the first", async () => {
    const second = await runToEnd(process.execPath, ["--import", "tsx", "src/main.ts"], { ...env, LOG_LEVEL: "info" });
    expect(second.code).toBe(1);
    expect(second.stdout).toBe("");
    expect(second.stderr.trim().split("\n")).toEqual([
      `${path.join(dataDir, "pglite")} is in use by process ${hub.proc.pid}: another hub, or an npm run cli command, has this DATA_DIR open; ` +
        `stop it, or give this hub a DATA_DIR (or DATABASE_URL) of its own. If none runs, delete ${path.join(dataDir, "pglite", "hub.pid")}`,
    ]);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
  });

  it("runs `npm run cli` commands in the running hub, which then accepts the key created", async () => {
    const created = await cli(env, "key", "create", "--name", "made-while-running");
    expect(created).toMatchObject({ code: 0, stderr: "" });
    const { api_key } = JSON.parse(created.stdout);
    const res = await fetch(`${hub.url}/api/folders`, { headers: { authorization: `Bearer ${api_key}` } });
    expect(res.status).toBe(200);

    const failed = await cli(env, "number", "bind", "--number", "12345", "--assistant", "default");
    expect(failed).toMatchObject({ code: 1, stdout: "" });
    expect(failed.stderr).toMatch(/Invalid number/);
  });

  it("stops on SIGTERM while an npm run cli client connected to it has stopped talking", async () => {
    const stalled = createConnection(path.join(dataDir, "pglite", "hub.sock"));
    stalled.on("error", () => {});
    await once(stalled, "connect");
    hub.proc.kill("SIGTERM");
    expect(await hub.exited).toBe(0);
    expect(hub.output()).toMatch(/"msg":"shutting down"/);
    stalled.destroy();
  });
});

describe("a DATA_DIR too long for the command socket's path", () => {
  const root = mkdtempSync(path.join(tmpdir(), "hub-datadir-long-"));
  const dataDir = path.join(root, "d".repeat(100));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("starts and serves all the same, saying in one line that npm run cli cannot reach it; the CLI refuses clearly", async () => {
    const hub = await spawnHub({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir, REDIS_URL, QUEUE_PREFIX: `l${Date.now().toString(36)}` });
    try {
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
      expect(hub.output()).toMatch(/"level":40,.*"msg":"npm run cli cannot reach this hub: the socket's path is too long/);
      const refused = await cli({ DATA_DIR: dataDir }, "org", "list");
      expect(refused).toMatchObject({ code: 1, stdout: "" });
      expect(refused.stderr).toMatch(
        `is in use by process ${hub.proc.pid}, which cannot take commands: the path of DATA_DIR is too long for its socket.`,
      );
    } finally {
      hub.proc.kill("SIGKILL");
      await hub.exited;
    }
  });
});

describe("npm run cli on an embedded DATA_DIR no hub runs on", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "hub-datadir-cli-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("opens the database itself, and lets go of it when done", async () => {
    const listed = await cli({ DATA_DIR: dataDir }, "org", "list");
    expect(listed).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: "Default", isDefault: true }]);
    expect(existsSync(path.join(dataDir, "pglite", "hub.pid"))).toBe(false);
  });

  it("refuses clearly while another process that takes no commands holds it", async () => {
    const holder = spawn("sleep", ["60"]);
    const saved = process.env.DATA_DIR;
    try {
      mkdirSync(path.join(dataDir, "pglite"), { recursive: true });
      // The lock as `sleep` would hold it: this process's lock file (its host and pid namespace), with its pid.
      lockDirectory(path.join(dataDir, "pglite"));
      const lockFile = path.join(dataDir, "pglite", "hub.pid");
      writeFileSync(lockFile, readFileSync(lockFile, "utf8").replace(/^\d+/, String(holder.pid)));
      process.env.DATA_DIR = dataDir;
      await expect(runCli(["key", "create"], () => {})).rejects.toThrow(
        `is in use by process ${holder.pid} (a hub starting or stopping, or another npm run cli command), which takes no commands: ` +
          `try again in a moment. If neither runs, delete ${path.join(dataDir, "pglite", "hub.pid")}.`,
      );
    } finally {
      process.env.DATA_DIR = saved;
      holder.kill("SIGKILL");
      rmSync(path.join(dataDir, "pglite", "hub.pid"));
    }
  });

  it("has a hub refuse a lock file it cannot read in one line, naming the file to delete", async () => {
    const lockFile = path.join(dataDir, "pglite", "hub.pid");
    mkdirSync(path.dirname(lockFile), { recursive: true });
    writeFileSync(lockFile, "");
    const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir, REDIS_URL, LOG_LEVEL: "silent" });
    await expect(startHub(config)).rejects.toThrow(
      new ConfigError(
        `${path.dirname(lockFile)} is in use by another process: another hub, or an npm run cli command, has this DATA_DIR open; ` +
          `stop it, or give this hub a DATA_DIR (or DATABASE_URL) of its own. If none runs, delete ${lockFile}`,
      ),
    );
    rmSync(lockFile);
  });
});
