// Integration specs (*.int.spec.ts, real Redis and Postgres): the `test-int` target.
module.exports = {
  ...require('../../jest.int.preset.js'),
  displayName: 'queue:int',
  rootDir: __dirname,
};
