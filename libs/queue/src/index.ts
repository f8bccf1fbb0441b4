export * from './connection';
export * from './consumer';
export * from './coalescing-producer';
export * from './producers';
export * from './job-data';
export * from './job-options';
export * from './queue-admin';
export * from './rate-limiter';
