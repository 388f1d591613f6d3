import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { configVariables, loadConfig } from "../../src/config";
import { startTestHub, type TestHub } from "../support/hub";

// deploy/kubernetes/, read as kubectl would and checked against the hub itself: every variable is one the
// hub reads, and the configuration each pod gets is valid; every probe asks a path on a port the hub in that
// role serves; the autoscaling query names a metric the hub's /metrics reports.

const DIR = path.join(__dirname, "../../deploy/kubernetes");

interface Container {
  command?: string[];
  env?: { name: string; value: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
}
type Manifest = {
  kind: string;
  metadata: { name: string };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml"));
const manifests = files.flatMap((f) => parseAllDocuments(readFileSync(path.join(DIR, f), "utf8")).map((d) => d.toJS() as Manifest));
const named = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name) as Manifest;
const podOf = (m: Manifest) => m.spec.template;
const containerOf = (m: Manifest) => podOf(m).spec.containers[0] as Container;

/** The environment a container's hub sees: its ConfigMaps' and Secrets' keys, then its own env. */
function containerEnv(container: Container): Record<string, string> {
  const from = (container.envFrom ?? []).map((source) =>
    source.configMapRef ? named("ConfigMap", source.configMapRef.name).data : named("Secret", source.secretRef?.name as string).stringData,
  );
  return Object.assign({}, ...from, Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value])));
}

describe("the Kubernetes example", () => {
  const gateway = named("Deployment", "hub-gateway");
  const worker = named("Deployment", "hub-worker");
  const migrate = named("Job", "hub-migrate");

  it("lists every manifest in its kustomization", () => {
    const kustomization = parseAllDocuments(readFileSync(path.join(DIR, "kustomization.yaml"), "utf8"))[0].toJS();
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== "kustomization.yaml").sort());
  });

  it("names only variables the hub reads, and gives each pod a configuration the hub accepts, in its role", () => {
    for (const m of manifests.filter((m) => m.kind === "ConfigMap" || m.kind === "Secret")) {
      for (const name of Object.keys(m.data ?? m.stringData ?? {})) expect(configVariables).toContain(name);
    }
    const roles = [gateway, worker, migrate].map((m) => {
      for (const { name } of containerOf(m).env ?? []) expect(configVariables).toContain(name);
      return loadConfig(containerEnv(containerOf(m))).ROLE;
    });
    expect(roles).toEqual(["gateway", "worker", "all"]);
    // They share one database, and so one queue prefix; gateways and workers leave migrating to the Job.
    expect(new Set([gateway, worker, migrate].map((m) => loadConfig(containerEnv(containerOf(m))).QUEUE_PREFIX)).size).toBe(1);
    for (const m of [gateway, worker]) expect(loadConfig(containerEnv(containerOf(m))).MIGRATE_ON_START).toBe(false);
    expect(containerOf(migrate).command).toEqual(["node", "--import", "tsx", "src/migrate.ts"]);
  });

  it("publishes the gateways through the Service, on the port the hub listens on", () => {
    const service = named("Service", "hub");
    expect(service.spec.selector).toEqual(gateway.spec.selector.matchLabels);
    expect(podOf(gateway).metadata.labels).toMatchObject(gateway.spec.selector.matchLabels);
    const port = containerOf(gateway).ports?.find((p) => p.name === service.spec.ports[0].targetPort);
    expect(port?.containerPort).toBe(loadConfig(containerEnv(containerOf(gateway))).PORT);
  });

  it("scales the workers on the metric of waiting turns", () => {
    const scaler = named("ScaledObject", "hub-worker");
    expect(scaler.spec.scaleTargetRef.name).toBe(worker.metadata.name);
    expect(scaler.spec.triggers[0].metadata.query).toBe('max(hub_queue_jobs{queue="ask",state="waiting"})');
  });

  describe("against a running hub", () => {
    let hub: TestHub;
    beforeAll(async () => {
      hub = await startTestHub("pglite", { METRICS_PORT: "0" });
    });
    afterAll(() => hub?.stop());

    /** The base URL of the port a probe names: the API's or the metrics port's, as the hub's config maps them. */
    const baseOf = (container: Container, portName: string) => {
      const port = container.ports?.find((p) => p.name === portName)?.containerPort;
      const config = loadConfig(containerEnv(container));
      if (port === config.METRICS_PORT) return hub.metricsUrl as string;
      if (port === config.PORT && config.ROLE !== "worker") return hub.url;
      throw new Error(`probe port ${portName} (${port}) is neither the hub's PORT nor its METRICS_PORT`);
    };

    it("has every probe ask a path the hub answers 200 on, on the port it names", async () => {
      const probes = [gateway, worker].flatMap((m) => {
        const container = containerOf(m);
        return [container.readinessProbe, container.livenessProbe].filter(Boolean).map((p) => ({ container, get: p?.httpGet }));
      });
      expect(probes.map((p) => p.get?.path)).toEqual(["/readyz", "/healthz", "/healthz"]);
      for (const { container, get } of probes) {
        const res = await fetch(baseOf(container, get?.port as string) + get?.path);
        expect({ path: get?.path, status: res.status }).toEqual({ path: get?.path, status: 200 });
      }
    });

    it("reports the autoscaling query's metric on /metrics, with its labels", async () => {
      const text = await (await fetch(`${hub.metricsUrl}/metrics`)).text();
      expect(text).toMatch(/^hub_queue_jobs\{queue="ask",state="waiting"\} \d+$/m);
    });
  });
});
