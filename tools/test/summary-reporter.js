// A Jest reporter that leaves each project's counts in tmp/test-results/, so that `npm test`
// can close with one line for the whole run: "tests: N passed, N failed, N skipped".
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const dir = path.join(__dirname, '../../tmp/test-results');
    fs.mkdirSync(dir, { recursive: true });
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    fs.writeFileSync(path.join(dir, `jest-${process.pid}.json`), JSON.stringify(counts));
  }
}

module.exports = SummaryReporter;
