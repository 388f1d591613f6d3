import { ConfigError, databaseLabel, loadConfig } from "./config";
import { openDatabase } from "./db/database";
import { DirectoryInUse } from "./db/lock";

// `npm run migrate`: applies the migrations the database lacks, and exits. For deploy pipelines that migrate
// once before they roll out gateways and workers (which then start with MIGRATE_ON_START=false). Safe to run
// while hubs run, and from several places at once: one migrates, the others find nothing left to apply.

export async function migrate(env: Record<string, string | undefined>, out: (line: string) => void): Promise<void> {
  const config = loadConfig(env);
  let db: ReturnType<typeof openDatabase>;
  try {
    db = openDatabase(config);
  } catch (err) {
    // A running hub already applied them at its start, unless it was started with MIGRATE_ON_START=false.
    if (err instanceof DirectoryInUse) throw new ConfigError(`${err.message}: stop the hub to migrate its embedded database`);
    throw err;
  }
  try {
    const applied = await db.migrate();
    const where = databaseLabel(config);
    out(applied.length ? `applied ${applied.length} migrations to ${where}: ${applied.join(", ")}` : `${where} is up to date`);
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  migrate(process.env, console.log).catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
}
