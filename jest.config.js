/** Tests run the TypeScript sources through SWC (types are checked by `npm run typecheck`). */
// ignoreDynamic: import() stays a real import, so that ES-module-only packages loaded that way (pdfjs-dist,
// linkedom's dependencies) load under jest as they do under tsx.
const swc = ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs", ignoreDynamic: true } }];
// Packages published as ES modules only: SWC turns them into CommonJS for Jest (Node runs them as they are).
const esmOnly = ["marked", "jose"];

module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": swc, [`/node_modules/(${esmOnly.join("|")})/.+\\.js$`]: swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join("|")})/)`],
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  // Generous on purpose: a test that passes takes as long as its conditions do, and CI's machine is as busy as
  // a developer's; starting a hub alone can take tens of seconds there.
  testTimeout: 180_000,
};
