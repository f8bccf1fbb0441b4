// Integration specs (*.int.spec.ts): real redis-server and Postgres processes started by the scripts under test.
module.exports = {
  ...require('../../jest.int.preset.js'),
  displayName: 'dev-services:int',
  rootDir: __dirname,
};
