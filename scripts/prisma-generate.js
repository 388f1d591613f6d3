// `prisma generate` needs no schema engine, but the CLI looks for one and tries to download it when it is
// missing; these machines reach only package registries. Point it at any existing file (see DESIGN.md).
const { execFileSync } = require("node:child_process");

execFileSync(process.execPath, [require.resolve("prisma/build/index.js"), "generate"], {
  stdio: "inherit",
  env: { PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: "1", ...process.env },
});
