import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "pg";
import { lockDirectory } from "../../src/db/lock";
import { listMigrations } from "../../src/db/migrate";
import { createTestDatabaseUrl, dropTestDatabase } from "../support/databases";
import { REDIS_URL } from "../support/env";
import { runToEnd, spawnHub } from "../support/processes";

// `npm run migrate`, as a deploy pipeline runs it before it rolls out hubs started with MIGRATE_ON_START=false.

jest.setTimeout(120_000);

const MIGRATIONS = listMigrations().map((m) => m.name);
const npmMigrate = (env: Record<string, string>) => runToEnd("npm", ["run", "--silent", "migrate"], env);

async function appliedMigrations(url: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY 1`);
    return rows.map((r) => r.migration_name);
  } finally {
    await client.end();
  }
}

describe("npm run migrate", () => {
  let url: string;
  beforeEach(async () => {
    url = await createTestDatabaseUrl();
  });
  afterEach(() => dropTestDatabase(url));

  it("applies every migration to a new Postgres database, records them as Prisma does, and finds nothing to do the second time", async () => {
    const { protocol, host, pathname } = new URL(url);
    const where = `${protocol}//${host}${pathname}`;
    const first = await npmMigrate({ DATABASE_URL: url });
    expect(first).toEqual({
      code: 0,
      stdout: `applied ${MIGRATIONS.length} migrations to ${where}: ${MIGRATIONS.join(", ")}\n`,
      stderr: "",
    });
    expect(await appliedMigrations(url)).toEqual(MIGRATIONS);
    expect(await npmMigrate({ DATABASE_URL: url })).toEqual({ code: 0, stdout: `${where} is up to date\n`, stderr: "" });
  });

  it("lets a hub started with MIGRATE_ON_START=false run only on a migrated database", async () => {
    const env = {
      PORT: "0",
      HOST: "127.0.0.1",
      REDIS_URL,
      DATABASE_URL: url,
      QUEUE_PREFIX: `mg${Date.now().toString(36)}`,
      MIGRATE_ON_START: "false",
    };
    const refused = await runToEnd(process.execPath, ["--import", "tsx", "src/main.ts"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `the database lacks migrations ${MIGRATIONS.join(", ")}: run npm run migrate (MIGRATE_ON_START is false)\n`,
    );
    // It changed nothing: the pipeline's migrate is the one to create the tables.
    await expect(appliedMigrations(url)).rejects.toThrow(/_prisma_migrations/);

    expect((await npmMigrate({ DATABASE_URL: url })).code).toBe(0);
    const hub = await spawnHub(env);
    try {
      const ready = await fetch(`${hub.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(hub.output()).not.toContain("migrations applied");
    } finally {
      hub.proc.kill("SIGTERM");
      expect(await hub.exited).toBe(0);
    }
  });
});

describe("npm run migrate on the embedded database", () => {
  it("creates and migrates the data directory, and refuses clearly while a hub holds it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hub-migrate-"));
    const dataDir = path.join(dir, "data");
    try {
      const first = await npmMigrate({ DATA_DIR: dataDir });
      expect(first.code).toBe(0);
      expect(first.stdout).toBe(`applied ${MIGRATIONS.length} migrations to ${path.join(dataDir, "pglite")}: ${MIGRATIONS.join(", ")}\n`);

      // Held as a running hub holds it: by its lock (this process stands in for the hub).
      const release = lockDirectory(path.join(dataDir, "pglite"));
      try {
        const held = await npmMigrate({ DATA_DIR: dataDir });
        expect(held.code).toBe(1);
        expect(held.stderr).toMatch(/stop the hub to migrate its embedded database\n$/);
      } finally {
        release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
