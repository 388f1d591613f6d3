import Redis from "ioredis";
import { Client } from "pg";
import { ADMIN_URL } from "./env";
import { ensurePGliteTemplate } from "./pglite-template";

// Fails the run at once, with the fix, when a service the tests need is not there.
export default async function globalSetup(): Promise<void> {
  const pg = new Client({ connectionString: ADMIN_URL });
  try {
    await pg.connect();
    await pg.end();
  } catch (err) {
    throw new Error(`Postgres is not reachable at ${ADMIN_URL} (${(err as Error).message}); set TEST_DATABASE_URL or start it`);
  }
  const redis = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable (${(err as Error).message}); set TEST_REDIS_URL or start it`);
  } finally {
    redis.disconnect();
  }
  await ensurePGliteTemplate();
}
