/** Tests run the TypeScript sources through SWC (types are checked by `npm run typecheck`). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs" } }] },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  testTimeout: 30000,
};
