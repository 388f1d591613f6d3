import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Extension, PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { Client, Pool } from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { embeddedDir } from "../config";
import { PrismaClient } from "../generated/prisma/client";
import { lockDirectory } from "./lock";
import { applyMigrations, pendingMigrations, type SqlRunner } from "./migrate";

// pgvector, as PGlite ships it. Required, not imported: this tsconfig's module resolution does not read the
// package's subpath exports.
const { vector } = require("@electric-sql/pglite/vector") as { vector: Extension };

export type Db = PrismaClient;

/** One SQL statement with $1.. parameters, straight to the driver: the hot path's statements skip Prisma's query layer. */
export type Sql = <T = Record<string, unknown>>(text: string, params: unknown[]) => Promise<T[]>;

export interface Database {
  prisma: Db;
  sql: Sql;
  kind: "postgres" | "pglite";
  /** Applies pending migrations from prisma/migrations; safe to call from several processes at once. */
  migrate(): Promise<string[]>;
  /** The migrations of prisma/migrations this database has not had yet. */
  pendingMigrations(): Promise<string[]>;
  close(): Promise<void>;
}

/** Postgres server through `pg`: one pool, for Prisma's adapter and for Database.sql alike. */
export function openPostgres(url: string): Database {
  // keepAlive: a connection cut without a word (a failover, a NAT dropping it) is found out, not waited on by
  // every batch behind it (src/batch.ts).
  const pool = new Pool({ connectionString: url, max: 10, keepAlive: true });
  // An idle connection that Postgres closed (a restart) is dropped from the pool; the next query opens another.
  pool.on("error", () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    sql: async (text, params) => (await pool.query({ name: statementName(text), text, values: params })).rows,
    kind: "postgres",
    async migrate() {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        // One process migrates at a time; the others wait and then find nothing left to apply.
        await client.query("SELECT pg_advisory_lock(72707369)");
        const run: SqlRunner = async (sql, params) => (await client.query(sql, params)).rows;
        return await applyMigrations(run);
      } finally {
        await client.end();
      }
    },
    pendingMigrations: () => pendingMigrations(async (sql, params) => (await pool.query(sql, params)).rows),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

const statementNames = new Map<string, string>();

/**
 * The hot path's statements are prepared once per connection, under a name derived from their text: the
 * batched statements are long, and parsing and planning each anew took a good part of Postgres's time per
 * turn. Their text is a constant (values come as parameters, arrays for batches), so the names are few.
 */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `hub_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Embedded Postgres (PGlite) in `dir`, or in memory when dir is "memory://". One process only: PGlite is
 * a single connection, so ROLE=all is the only layout it supports, and `dir` is locked while open (a
 * second process gets DirectoryInUse rather than a copy of the data that diverges from this one's). `from`
 * starts an in-memory database from a dump of another (PGlite's dumpDataDir), which skips initdb: the tests'
 * many databases start from one.
 */
export function openPGlite(dir: string, from?: Blob): Database {
  let unlock = () => {};
  if (dir !== "memory://") {
    mkdirSync(dir, { recursive: true });
    unlock = lockDirectory(dir);
  }
  // pgvector ships with PGlite: loaded here, it is there for the knowledge index to enable (src/knowledge).
  const extensions = { vector };
  const pglite = dir === "memory://" ? new PGlite({ loadDataDir: from, extensions }) : new PGlite(path.resolve(dir), { extensions });
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    prisma,
    sql: async <T>(text: string, params: unknown[]) => (await pglite.query<T>(text, params)).rows,
    kind: "pglite",
    async migrate() {
      const run: SqlRunner = async (sql, params) =>
        params ? (await pglite.query<Record<string, unknown>>(sql, params)).rows : ((await pglite.exec(sql)).at(-1)?.rows ?? []);
      return applyMigrations(run);
    },
    pendingMigrations: () => pendingMigrations(async (sql, params) => (await pglite.query<Record<string, unknown>>(sql, params)).rows),
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      unlock();
    },
  };
}

export function openDatabase(config: { DATABASE_URL?: string; DATA_DIR: string }): Database {
  if (config.DATABASE_URL) return openPostgres(config.DATABASE_URL);
  return openPGlite(embeddedDir(config) ?? "memory://");
}

// Prisma codes and driver-adapter error kinds that mean "the server is not there right now", as opposed
// to a query that is wrong: the first are worth a 503 and a retry, the second are bugs.
const UNAVAILABLE_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
// admin_shutdown, crash_shutdown, cannot_connect_now: Postgres stopping or starting.
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03"]);

/** Whether an error from Prisma means the database could not be reached (down, restarting, pool exhausted). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as {
    code?: string;
    name?: string;
    message?: string;
    meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } };
  };
  if (!e || typeof e !== "object") return false;
  if (e.name === "PrismaClientInitializationError") return true;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  // An error of the driver itself (Database.sql) carries the SQLSTATE as its code.
  if (e.code && UNAVAILABLE_SQLSTATES.has(e.code)) return true;
  const cause = e.meta?.driverAdapterError?.cause;
  if (cause?.kind && UNAVAILABLE_KINDS.has(cause.kind)) return true;
  if (cause?.originalCode && UNAVAILABLE_SQLSTATES.has(cause.originalCode)) return true;
  if (e.code && ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "EPIPE"].includes(e.code)) return true;
  // Also matched by message: the sweeper sees only the text of a failed job's error.
  return /Connection terminated|ECONNREFUSED|ECONNRESET|Can't reach database server|terminating connection due to administrator command|the database system is (starting up|shutting down)/i.test(
    e.message ?? "",
  );
}

// Errors one item of a batch can cause, so that the others may succeed without it: data exceptions (22) and
// integrity violations (23) of a value; "ON CONFLICT DO UPDATE cannot affect row a second time" (21000: two
// keys the database sees as one); a deadlock or serialization failure with another batch (40P01, 40001).
const ITEM_SQLSTATES = /^(22|23)|^(21000|40P01|40001)$/;

/** Whether a batch's statement failed because of one of its items (see Batcher), read from the driver's error. */
export function isItemError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && ITEM_SQLSTATES.test(code);
}

// character_not_in_repertoire (U+0000 in a text value), untranslatable_character (\u0000 in jsonb): Postgres
// cannot store the value at all; the input, not the database, is at fault.
const UNSTORABLE_TEXT_SQLSTATES = new Set(["22021", "22P05"]);

/** Whether Postgres refused a value as text it cannot store (U+0000): bad input, worth a 400, not a 500. */
export function isUnstorableText(err: unknown): boolean {
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } } | null;
  // Through Prisma, or from the driver itself (Database.sql).
  const code = e?.meta?.driverAdapterError?.cause?.originalCode ?? e?.code;
  return code !== undefined && UNSTORABLE_TEXT_SQLSTATES.has(code);
}
