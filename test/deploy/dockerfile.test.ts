import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDatabaseUrl, dropTestDatabase } from "../support/databases";
import { REDIS_URL } from "../support/env";
import { freePort, runToEnd, spawnUntilStarted, waitFor } from "../support/processes";

// Docker does not run on the team's machines: the Dockerfile's steps run here instead, as plain commands in a
// clean copy of the repository (only what its COPY lines take, less .dockerignore), and the result is started
// with the image's CMD and asked with its HEALTHCHECK.
//
// One step is not run every time: `npm ci` takes minutes on a busy machine (a 500 MB node_modules). Its result
// is prepared once per package-lock.json (and that RUN line), in the temp directory, with `--prefer-offline`
// (npm's cache first, the registry for what it lacks), and each run hard-links it into its copy. A change of the
// lock file or of the install line prepares it again.

jest.setTimeout(600_000);

const ROOT = path.join(__dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

interface Step {
  instruction: string;
  args: string;
}
/** The Dockerfile's stages, each a list of instructions (continuation lines joined, comments dropped). */
function stages(text: string): Step[][] {
  const lines = text.replace(/\\\n\s*/g, "").split("\n");
  const steps = lines
    .filter((l) => l.trim() && !l.trimStart().startsWith("#"))
    .map((l) => l.trim().match(/^(\w+)\s+(.*)$/) as RegExpMatchArray);
  const result: Step[][] = [];
  for (const [, instruction, args] of steps) {
    if (instruction === "FROM") result.push([]);
    result[result.length - 1].push({ instruction, args });
  }
  return result;
}

const [build, final] = stages(read("Dockerfile"));
const ignored = read(".dockerignore")
  .split("\n")
  .filter((l) => l.trim() && !l.startsWith("#"));
/** Whether .dockerignore leaves a path of the context out: its patterns match from the context's root. */
const isIgnored = (relative: string) =>
  ignored.some((pattern) => new RegExp(`^${pattern.replace(/\./g, "\\.").replace(/\*/g, "[^/]*")}(/|$)`).test(relative));
const json = (args: string) => JSON.parse(args.replace(/^.*?CMD\s+/, "")) as string[];

/** `COPY src... dest` of the build context, into `app` (the image's WORKDIR). */
function copyFromContext(args: string, app: string) {
  const parts = args.split(/\s+/);
  const dest = path.join(app, parts.pop() as string);
  for (const src of parts) {
    const target = parts.length > 1 || dest.endsWith("/") ? path.join(dest, path.basename(src)) : dest;
    cpSync(path.join(ROOT, src), target, {
      recursive: true,
      filter: (from) => !isIgnored(path.relative(ROOT, from)),
    });
  }
}

/** node_modules after the install step, made once per lock file and install line (see the top). */
function preparedDependencies(install: string, before: Step[]): string {
  const key = createHash("sha256")
    .update(read("package-lock.json"))
    .update(read("package.json"))
    .update(install)
    .digest("hex")
    .slice(0, 16);
  const prepared = path.join(tmpdir(), `hub-image-deps-${key}`);
  if (existsSync(path.join(prepared, "node_modules"))) return prepared;
  const work = mkdtempSync(path.join(tmpdir(), "hub-image-deps-"));
  for (const step of before) if (step.instruction === "COPY") copyFromContext(step.args, work);
  execFileSync("sh", ["-c", `${install} --prefer-offline`], { cwd: work, stdio: "ignore" });
  rmSync(prepared, { recursive: true, force: true });
  renameSync(work, prepared);
  return prepared;
}

describe("the Dockerfile", () => {
  let app: string;
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await createTestDatabaseUrl();
  });
  afterAll(async () => {
    if (app) rmSync(app, { recursive: true, force: true });
    await dropTestDatabase(databaseUrl);
  });

  it("builds in two stages from a slim Node 20, and runs as a user other than root", () => {
    expect(build[0].args).toMatch(/^node:20-[\w-]*slim AS build$/);
    expect(final[0].args).toMatch(/^node:20-[\w-]*slim$/);
    expect(final.find((s) => s.instruction === "COPY")?.args).toMatch(/^--from=build /);
    const user = final.filter((s) => s.instruction === "USER").at(-1)?.args;
    expect(user).toBe("node");
    // node itself is PID 1 (no npm, no shell), which passes SIGTERM to the hub's own handler.
    expect(json(final.find((s) => s.instruction === "CMD")?.args as string)[0]).toBe("node");
  });

  it("builds in a clean copy of the repository, whose result starts with the image's CMD, passes its HEALTHCHECK and stops on SIGTERM", async () => {
    app = mkdtempSync(path.join(tmpdir(), "hub-image-"));
    const workdir = build.find((s) => s.instruction === "WORKDIR")?.args as string;
    const env: Record<string, string> = {};
    for (const [i, step] of build.entries()) {
      if (step.instruction === "COPY") copyFromContext(step.args, app);
      else if (step.instruction === "RUN" && step.args.startsWith("npm ci")) {
        // Hard links: the prepared copy is read, never written (the build's later steps write to src/ only).
        execFileSync("cp", ["-al", path.join(preparedDependencies(step.args, build.slice(0, i)), "node_modules"), app]);
      } else if (step.instruction === "RUN") execFileSync("sh", ["-c", step.args], { cwd: app, stdio: "ignore" });
    }
    // What the build leaves: the generated Prisma client, production dependencies only, no local state.
    expect(existsSync(path.join(app, "src/generated/prisma/client.ts"))).toBe(true);
    expect(existsSync(path.join(app, "node_modules/tsx"))).toBe(true);
    expect(existsSync(path.join(app, "node_modules/jest"))).toBe(false);
    expect(existsSync(path.join(app, ".data"))).toBe(false);

    for (const step of final) {
      if (step.instruction === "ENV") {
        const [name, value] = step.args.split("=");
        env[name] = value;
      } else if (step.instruction === "RUN") {
        // The image's own user is not this machine's: the directory is made, and stays this user's.
        execFileSync("sh", ["-c", step.args.replaceAll(workdir, app).replace(/&& chown \S+ \S+$/, "")], { cwd: app });
      }
    }
    expect(existsSync(path.join(app, ".data"))).toBe(true);

    const port = await freePort();
    Object.assign(env, { PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL, QUEUE_PREFIX: `img${randomBytes(4).toString("hex")}` });
    const [command, ...args] = json(final.find((s) => s.instruction === "CMD")?.args as string);
    const hub = await spawnUntilStarted(command === "node" ? process.execPath : command, args, env, { cwd: app });
    try {
      const healthcheck = json(final.find((s) => s.instruction === "HEALTHCHECK")?.args as string);
      expect(healthcheck).toEqual(["node", "scripts/healthcheck.js"]);
      const check = () => runToEnd(process.execPath, healthcheck.slice(1), env, 30_000, app);
      await waitFor(async () => (await check()).code === 0, 60_000, "the HEALTHCHECK to pass");
      // A worker is asked on its metrics port: without one, the check says so.
      expect(await runToEnd(process.execPath, healthcheck.slice(1), { ...env, ROLE: "worker" }, 30_000, app)).toMatchObject({ code: 1 });
    } finally {
      hub.proc.kill("SIGTERM");
      expect(await hub.exited).toBe(0);
    }
  });
});
