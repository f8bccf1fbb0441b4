// Shared Jest settings: SWC for speed (type checking is the `typecheck` target's job)
// and the tsconfig path aliases, so tests import libs exactly as apps do.
//
// This is the unit preset (each project's jest.config.js, the inferred `test` target): every
// src/**/*.spec.ts except the integration specs (*.int.spec.ts), and no global setup, so unit
// tests need neither Redis nor Postgres. jest.int.preset.js builds the integration preset on it.
const path = require('node:path');
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = {};
for (const [alias, [target]] of Object.entries(compilerOptions.paths)) {
  moduleNameMapper[`^${alias}$`] = path.join(__dirname, target);
}

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '\\.int\\.spec\\.ts$'],
  testTimeout: 30000,
  reporters: ['default', [path.join(__dirname, 'tools/test/summary-reporter.js'), { kind: 'unit' }]],
};
