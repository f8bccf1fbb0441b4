export * from './config';
export * from './redis-address';
