export * from './event-rows';
export * from './malformed-job';
export * from './store-events';
