module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'events-worker',
  rootDir: __dirname,
};
