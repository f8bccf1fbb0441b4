export * from './connection';
export * from './consumer';
export * from './events-producer';
export * from './job-options';
export * from './queue-admin';
export * from './rate-limiter';
