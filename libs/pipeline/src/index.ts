export * from './event-rows';
export * from './store-events';
