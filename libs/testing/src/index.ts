export * from './containers';
export * from './fixtures';
export * from './hostile';
export * from './isolated-stack';
export * from './postgres-server';
export * from './processes';
export * from './redis-server';
export * from './test-env';
