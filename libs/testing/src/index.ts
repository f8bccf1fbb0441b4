export * from './containers';
export * from './fixtures';
export * from './test-env';
