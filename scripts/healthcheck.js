// The image's HEALTHCHECK: /healthz of this container's hub, on the loopback address (HOST and METRICS_HOST
// are 0.0.0.0 in a container). A gateway (ROLE all or gateway) answers on PORT; a worker has no API port,
// so it answers on its METRICS_PORT, which docker-compose.yml and deploy/kubernetes/ set for workers.
const port = process.env.ROLE === "worker" ? process.env.METRICS_PORT : process.env.PORT || 3000;
if (!port) {
  console.error("a worker answers health checks on its METRICS_PORT: set one");
  process.exit(1);
}
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
