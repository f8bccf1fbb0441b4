export * from './logger';
export * from './lifecycle';
