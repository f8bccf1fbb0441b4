module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'internal-worker',
  rootDir: __dirname,
};
