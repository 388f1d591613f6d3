import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export type SqlRunner = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

const MIGRATIONS_DIR = path.join(__dirname, "../../prisma/migrations");

// The table `prisma migrate deploy` keeps, created the way Prisma creates it, so that both agree on what
// has been applied.
const PRISMA_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export function listMigrations(dir = MIGRATIONS_DIR): { name: string; sql: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => ({ name, sql: readFileSync(path.join(dir, name, "migration.sql"), "utf8") }));
}

/** The migrations not yet recorded as finished, in name order (every one on a database never migrated). */
export async function pendingMigrations(run: SqlRunner, dir = MIGRATIONS_DIR): Promise<string[]> {
  const [{ table }] = await run(`SELECT to_regclass('"_prisma_migrations"')::text AS "table"`);
  const done = new Set(
    table
      ? (await run(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`)).map(
          (r) => r.migration_name as string,
        )
      : [],
  );
  return listMigrations(dir)
    .map((m) => m.name)
    .filter((name) => !done.has(name));
}

/** Applies, in name order, each migration not yet recorded as finished. Returns the names applied. */
export async function applyMigrations(run: SqlRunner, dir = MIGRATIONS_DIR): Promise<string[]> {
  await run(PRISMA_MIGRATIONS_TABLE);
  const pending = new Set(await pendingMigrations(run, dir));
  const applied: string[] = [];
  for (const { name, sql } of listMigrations(dir)) {
    if (!pending.has(name)) continue;
    const checksum = createHash("sha256").update(sql).digest("hex");
    // Each migration and its record commit together: a crash leaves it either applied and recorded or neither.
    await run(`BEGIN;\n${sql}\n;INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
      VALUES ('${randomUUID()}', '${checksum}', now(), '${name.replace(/'/g, "''")}', 1);\nCOMMIT;`);
    applied.push(name);
  }
  return applied;
}
