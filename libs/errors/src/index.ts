export * from './app-error';
export * from './timeout';
