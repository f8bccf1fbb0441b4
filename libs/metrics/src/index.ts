export * from './metrics';
export * from './serve';
