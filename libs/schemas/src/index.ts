export * from './event.schema';
export * from './jobs.schema';
export * from './validate';
export * from './openapi';
