/** Tests run the TypeScript sources through SWC (types are checked by `npm run typecheck`). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // ignoreDynamic: import() stays a real import, so that ES-module-only packages (pdfjs-dist, linkedom's
  // dependencies) load under jest as they do under tsx.
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs", ignoreDynamic: true } }] },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  // Generous on purpose: a test that passes takes as long as its conditions do, and CI's machine is as busy as
  // a developer's; starting a hub alone can take tens of seconds there.
  testTimeout: 180_000,
};
