export * from './absent';
export * from './audience';
export * from './authorization';
export * from './enrich';
export * from './identity';
export * from './objects';
export * from './timestamps';
export * from './secrets';
