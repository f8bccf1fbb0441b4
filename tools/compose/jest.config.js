// The compose files' checks (the `test` target): no Docker, no Redis, no Postgres.
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'compose',
  rootDir: __dirname,
};
