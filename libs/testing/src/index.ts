export * from './containers';
export * from './fixtures';
export * from './processes';
export * from './redis-server';
export * from './test-env';
