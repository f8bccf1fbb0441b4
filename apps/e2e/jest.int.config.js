// End-to-end specs: every spec of this project drives the built apps against real Redis and
// Postgres, so they all run in the `test-int` target (there is no unit `test` target here).
module.exports = {
  ...require('../../jest.int.preset.js'),
  displayName: 'e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
