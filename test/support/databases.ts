import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { type Database, openPostgres } from "../../src/db/database";
import { ADMIN_URL } from "./env";
import { openTemplatePGlite } from "./pglite-template";

export type DbKind = "postgres" | "pglite";
export const DB_KINDS: DbKind[] = ["postgres", "pglite"];

/** A new empty database of this file's own, so test files run in parallel and twice in a row. */
export async function createTestDatabaseUrl(): Promise<string> {
  const name = `hub_test_${randomBytes(6).toString("hex")}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

/** A migrated database of the given kind; close() also drops a server database. */
export async function openTestDatabase(kind: DbKind): Promise<Database> {
  if (kind === "pglite") {
    const db = openTemplatePGlite();
    await db.migrate();
    return db;
  }
  const url = await createTestDatabaseUrl();
  const db = openPostgres(url);
  await db.migrate();
  return {
    ...db,
    async close() {
      await db.close();
      await dropTestDatabase(url);
    },
  };
}
