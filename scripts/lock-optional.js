// The npm registry mirror these machines use serves only the platform packages for
// linux-x64, so `npm install` leaves the other platforms' optional binaries (biome, swc,
// msgpackr-extract, unrs-resolver) out of package-lock.json, and `npm ci` then refuses the
// lock as out of sync. Recording them as optional entries keeps `npm ci` working here
// and on other platforms. Run after adding a dependency: node scripts/lock-optional.js
const fs = require("node:fs");
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
const pkgs = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path.startsWith("node_modules/") ? path : "";
    const nested = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (pkgs[nested] || pkgs[`node_modules/${name}`]) continue;
    pkgs[`node_modules/${name}`] = { version, dev: entry.dev, optional: true };
    added++;
  }
}
fs.writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
console.log("added", added);
