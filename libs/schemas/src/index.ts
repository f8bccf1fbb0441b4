export * from './id.schema';
export * from './event.schema';
export * from './enriched-event.schema';
export * from './internal.schema';
export * from './jobs.schema';
export * from './validate';
export * from './openapi';
export * from './storable';
