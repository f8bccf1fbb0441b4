// A Jest reporter that leaves each Jest run's counts in tmp/test-results/, so that `npm test`
// can close with one line for the whole run (unit and integration targets together):
// "tests: N passed, N failed, N skipped".
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig, options = {}) {
    // One file per run: the project's directory, the kind of run (unit or int) and the pid.
    const project = path.relative(path.join(__dirname, '../..'), globalConfig.rootDir).replace(/[\\/]/g, '_') || 'root';
    this.file = `jest-${project}-${options.kind ?? 'tests'}-${process.pid}.json`;
  }

  onRunComplete(_contexts, results) {
    // `npm test` (tools/test/run.mjs) names a directory of its own; a lone Jest run writes to the default one.
    const dir = process.env.EVT_TEST_RESULTS || path.join(__dirname, '../../tmp/test-results');
    fs.mkdirSync(dir, { recursive: true });
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    fs.writeFileSync(path.join(dir, this.file), JSON.stringify(counts));
  }
}

module.exports = SummaryReporter;
