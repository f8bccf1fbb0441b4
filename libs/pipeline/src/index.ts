export * from './event-rows';
export * from './group-commit';
export * from './malformed-job';
export * from './store-events';
