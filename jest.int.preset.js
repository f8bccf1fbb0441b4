// Integration preset (each project's jest.int.config.js, the `test-int` target): the unit
// preset's settings, but only src/**/*.int.spec.ts, against real Redis and Postgres that the
// global setup provides once per run (Testcontainers, else REDIS_URL / DATABASE_URL).
const path = require('node:path');
const unit = require('./jest.preset.js');

module.exports = {
  ...unit,
  testMatch: ['<rootDir>/src/**/*.int.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: path.join(__dirname, 'libs/testing/src/global-setup.ts'),
  globalTeardown: path.join(__dirname, 'libs/testing/src/global-teardown.ts'),
  reporters: ['default', [path.join(__dirname, 'tools/test/summary-reporter.js'), { kind: 'int' }]],
};
