/** The real-world corpus acceptance suite: `npm run test:corpus -- DIR` (tests/corpus/run.ts). */
const base = require("./jest.config");
module.exports = {
  ...base,
  testMatch: ["**/tests/corpus/*.acceptance.ts"],
  testPathIgnorePatterns: ["/node_modules/"],
};
