import { randomBytes } from "node:crypto";
import path from "node:path";
import { loadConfig } from "../../src/config";
import { createTestDatabaseUrl, dropTestDatabase } from "../support/databases";
import { REDIS_URL } from "../support/env";
import { type HubProcess, spawnHub, waitFor } from "../support/processes";

// Two hubs on one Redis under one QUEUE_PREFIX take each other's jobs: the default keeps hubs of different
// databases apart, and a start says which prefix and database it runs with, and warns of another's.

jest.setTimeout(120_000);

describe("the default QUEUE_PREFIX", () => {
  it("is named after the database, so hubs of two databases keep their jobs apart", () => {
    const prefix = (env: Record<string, string>) => loadConfig(env).QUEUE_PREFIX;
    expect(prefix({ DATABASE_URL: "postgresql://hub:secret@db.internal:5432/shop" })).toBe("hub-shop");
    // A gateway and a worker reach one database under other names and credentials: one prefix still.
    expect(prefix({ DATABASE_URL: "postgresql://worker:other@10.0.0.5/shop?sslmode=require" })).toBe("hub-shop");
    expect(prefix({ DATABASE_URL: "postgresql://hub:secret@db.internal:5432/blog" })).toBe("hub-blog");
    // No database in the URL: Postgres's default, the user's own.
    expect(prefix({ DATABASE_URL: "postgresql://acme@db.internal" })).toBe("hub-acme");
    // The embedded database: one prefix per directory, wherever the hub is started from.
    const here = prefix({ DATA_DIR: "./.data" });
    expect(here).toMatch(/^hub-[0-9a-f]{10}$/);
    expect(prefix({ DATA_DIR: path.resolve(".data") })).toBe(here);
    expect(prefix({ DATA_DIR: "/srv/other-hub/.data" })).not.toBe(here);
    // Set, it is taken as it is (the tests give each hub its own).
    expect(prefix({ DATABASE_URL: "postgresql://hub@db/shop", QUEUE_PREFIX: "acme" })).toBe("acme");
    expect(() => loadConfig({ QUEUE_PREFIX: "{acme}" })).toThrow(/QUEUE_PREFIX/);
  });
});

describe("a hub's start, as to its queues", () => {
  const databases: string[] = [];
  const hubs: HubProcess[] = [];
  const start = async (env: Record<string, string>) => {
    const url = await createTestDatabaseUrl();
    databases.push(url);
    const hub = await spawnHub({ PORT: "0", HOST: "127.0.0.1", REDIS_URL, DATABASE_URL: url, ...env });
    hubs.push(hub);
    return { hub, url };
  };
  const started = (hub: HubProcess) => {
    const line = hub
      .output()
      .split("\n")
      .find((l) => l.includes('"hub started"'));
    return JSON.parse(line as string) as { queuePrefix: string; databaseUrl: string };
  };
  afterAll(async () => {
    for (const hub of hubs) {
      hub.proc.kill("SIGTERM");
      await hub.exited;
    }
    for (const url of databases) await dropTestDatabase(url);
  });

  it("logs its queue prefix and the database it belongs to, without the database's credentials", async () => {
    const { hub, url } = await start({});
    const { protocol, host, pathname } = new URL(url);
    const line = started(hub);
    expect(line.queuePrefix).toBe(`hub-${pathname.slice(1)}`);
    expect(line.databaseUrl).toBe(`${protocol}//${host}${pathname}`);
    expect(hub.output()).not.toContain("QUEUE_PREFIX was used");
  });

  it("warns when the hub of another database used its QUEUE_PREFIX on this Redis", async () => {
    const shared = `q${randomBytes(5).toString("hex")}`;
    const first = await start({ QUEUE_PREFIX: shared });
    expect(first.hub.output()).not.toContain("QUEUE_PREFIX was used");
    // The same database again (a worker of the first hub, here a second process): no warning.
    const sameDatabase = await spawnHub({ PORT: "0", HOST: "127.0.0.1", REDIS_URL, DATABASE_URL: first.url, QUEUE_PREFIX: shared });
    hubs.push(sameDatabase);
    expect(sameDatabase.output()).not.toContain("QUEUE_PREFIX was used");

    const second = await start({ QUEUE_PREFIX: shared });
    const warning = await waitFor(() =>
      second.hub
        .output()
        .split("\n")
        .find((l) => l.includes("QUEUE_PREFIX was used")),
    );
    expect(JSON.parse(warning)).toMatchObject({
      level: 40,
      queuePrefix: shared,
      databaseUrl: expect.stringContaining(new URL(second.url).pathname),
    });
  });
});
