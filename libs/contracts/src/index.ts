export * from './names.js';
export * from './errors.js';
export * from './event.js';
export * from './product.js';
export * from './recommendation.js';
export * from './batch-run.js';
export * from './decode-event.js';
export * from './text.js';
