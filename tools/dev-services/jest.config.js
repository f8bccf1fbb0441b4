// Unit specs (the `test` target); this project has only integration specs so far (jest.int.config.js).
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'dev-services',
  rootDir: __dirname,
  passWithNoTests: true,
};
