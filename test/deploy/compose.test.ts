import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { configVariables, loadConfig } from "../../src/config";

// Docker does not run on the team's machines: what docker-compose.yml and .env.example tell the hub is
// checked against the hub's own configuration schema instead.

const ROOT = path.join(__dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

/** A .env file's variables, as docker compose reads one (NAME=value lines; # starts a comment line). */
function dotenv(text: string): Record<string, string> {
  const lines = text.split("\n").filter((l) => l.trim() && !l.trimStart().startsWith("#"));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")).trim(), l.slice(l.indexOf("=") + 1).trim()]));
}

interface Service {
  build?: string;
  image?: string;
  command?: string[];
  env_file?: { path: string }[];
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, Service> };
const { services } = compose;
const example = dotenv(read(".env.example"));
/** What the hub in a service sees: .env (here .env.example, as the compose file says to copy it), then its environment. */
const serviceEnv = (service: Service) => ({
  ...(service.env_file?.some((f) => f.path === ".env") ? example : {}),
  ...Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)])),
});

describe(".env.example", () => {
  it("lists every variable of the configuration, and nothing else", () => {
    expect(Object.keys(example).sort()).toEqual([...configVariables].sort());
  });

  it("holds the defaults: copied as it is, it configures the hub as no .env at all does", () => {
    expect(loadConfig(example)).toEqual(loadConfig({}));
  });
});

describe("docker-compose.yml", () => {
  const hubs = Object.entries(services).filter(([, s]) => s.build === ".");

  it("runs the whole stack: Postgres with pgvector, Redis, the migrations, a gateway and a worker from the image", () => {
    expect(Object.keys(services).sort()).toEqual(["gateway", "migrate", "postgres", "redis", "worker"]);
    expect(services.postgres.image).toMatch(/^pgvector\/pgvector:/);
    expect(hubs.map(([name]) => name).sort()).toEqual(["gateway", "migrate", "worker"]);
  });

  it("gives each hub service an environment the hub's configuration accepts, with the roles asked for", () => {
    const roles = Object.fromEntries(hubs.map(([name, service]) => [name, loadConfig(serviceEnv(service)).ROLE]));
    expect(roles).toEqual({ migrate: "all", gateway: "gateway", worker: "worker" });
    for (const [, service] of hubs) {
      const config = loadConfig(serviceEnv(service));
      // They reach the stack's own services by name, and share one database (so one queue prefix).
      expect(new URL(config.REDIS_URL).hostname).toBe("redis");
      expect(new URL(config.DATABASE_URL as string).hostname).toBe("postgres");
      expect(config.QUEUE_PREFIX).toBe("hub-hub");
      for (const name of Object.keys(service.environment ?? {})) expect(configVariables).toContain(name);
    }
  });

  it("migrates once, before the gateway and the worker start, which then do not migrate themselves", () => {
    expect(services.migrate.command).toEqual(["node", "--import", "tsx", "src/migrate.ts"]);
    expect(JSON.parse(read("package.json")).scripts.migrate).toBe(`exec ${services.migrate.command?.join(" ")}`);
    expect(services.migrate.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    for (const name of ["gateway", "worker"]) {
      expect(services[name].depends_on?.migrate).toEqual({ condition: "service_completed_successfully" });
      expect(loadConfig(serviceEnv(services[name])).MIGRATE_ON_START).toBe(false);
    }
  });

  it("keeps Redis's data on disk and never evicts a key to make room", () => {
    const args = services.redis.command?.join(" ");
    expect(args).toContain("--appendonly yes");
    expect(args).toContain("--maxmemory-policy noeviction");
  });

  it("publishes the gateway's port, and gives the worker the metrics port its health check asks", () => {
    const gateway = loadConfig(serviceEnv(services.gateway));
    expect(services.gateway.ports).toEqual([`${gateway.PORT}:${gateway.PORT}`]);
    const worker = loadConfig(serviceEnv(services.worker));
    expect(worker.METRICS_PORT).toBeGreaterThan(0);
    expect(worker.METRICS_HOST).toBe("0.0.0.0");
  });
});
