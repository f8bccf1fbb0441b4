export * from './event-rows';
export * from './group-commit';
export * from './isolate';
export * from './malformed-job';
export * from './rejected-rows';
export * from './store-events';
export * from './write-isolating';
