// The renderer's acceptance checks (docker stack config as the oracle, no key lost, docker reads
// our bundle as it reads the original) on the project's own fixtures, one per behaviour the
// real-world corpus exercises. The corpus itself: `npm run test:corpus -- DIR`.
import { describeStackFiles } from "./fixtures/compose/acceptance";
import { CASES, CASES_DIR } from "./fixtures/compose/cases";

describeStackFiles(CASES_DIR, CASES, { minFiles: Object.keys(CASES).length });
