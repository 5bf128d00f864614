/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // The lab needs root, namespaces and dockerd: it runs with `npm run test:lab`, not here.
  testPathIgnorePatterns: ["/node_modules/", "/tests/lab/"],
  transform: {
    // Type checking is `npm run typecheck`'s job; transpiling alone keeps the suite fast.
    "^.+\\.ts$": ["ts-jest", {}],
  },
  testTimeout: 60000,
};
