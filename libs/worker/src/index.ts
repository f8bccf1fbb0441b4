export * from './processor';
export * from './run-worker';
export * from './event-tail';
