// Acceptance: every real-world file of the corpus behaves as its row in tests/fixtures/compose/
// corpus.ts (and SOURCES.md beside the files) says. Run with `npm run test:corpus -- DIR`
// (tests/corpus/run.ts), which sets DO_SWARM_CORPUS; never part of `npm test`.
import { describeStackFiles } from "../fixtures/compose/acceptance";
import { CORPUS } from "../fixtures/compose/corpus";

const dir = process.env.DO_SWARM_CORPUS;
if (dir === undefined || dir === "") {
  throw new Error("DO_SWARM_CORPUS is not set: run this suite with npm run test:corpus -- DIR");
}
describeStackFiles(dir, CORPUS, { minFiles: 30 });
