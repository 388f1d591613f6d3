import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { type Database, openPGlite } from "../../src/db/database";
import { applyMigrations, listMigrations } from "../../src/db/migrate";

// Every PGlite test database starts from one migrated template, dumped once per run (global-setup.ts):
// a new in-memory PGlite runs initdb, which takes seconds of CPU and, on a busy machine, most of a test
// file's time budget; loading a dump skips it. The file is named by the migrations it holds.

function templateFile(): string {
  const hash = createHash("sha256");
  for (const { name, sql } of listMigrations()) hash.update(name).update(sql);
  return path.join(tmpdir(), `hub-test-pglite-${hash.digest("hex").slice(0, 16)}.tar`);
}

/** Makes the template if this set of migrations has none yet. */
export async function ensurePGliteTemplate(): Promise<void> {
  const file = templateFile();
  if (existsSync(file)) return;
  const pglite = new PGlite();
  await applyMigrations(async (sql, params) =>
    params ? (await pglite.query<Record<string, unknown>>(sql, params)).rows : ((await pglite.exec(sql)).at(-1)?.rows ?? []),
  );
  const dump = await pglite.dumpDataDir("none");
  await pglite.close();
  // Written aside and renamed: a run that dies half-way leaves no broken template behind.
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
}

/** A migrated in-memory PGlite, from the template when there is one. */
export function openTemplatePGlite(): Database {
  const file = templateFile();
  return openPGlite("memory://", existsSync(file) ? new Blob([readFileSync(file)]) : undefined);
}
