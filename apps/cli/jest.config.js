// Unit specs (the `test` target): help, version and usage errors, which need no service; the rest are integration specs (jest.int.config.js).
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'cli',
  rootDir: __dirname,
  passWithNoTests: true,
};
