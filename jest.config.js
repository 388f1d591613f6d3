/** Tests run the TypeScript sources through SWC (types are checked by `npm run typecheck`). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs", ignoreDynamic: true } }] },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  // Generous on purpose: a test that passes takes as long as its conditions do, and CI's machine is as busy as
  // a developer's; starting a hub alone can take tens of seconds there.
  testTimeout: 180_000,
};
