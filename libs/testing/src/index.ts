export * from './containers';
export * from './fixtures';
export * from './processes';
export * from './test-env';
