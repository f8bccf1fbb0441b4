export * from './processor';
export * from './run-worker';
