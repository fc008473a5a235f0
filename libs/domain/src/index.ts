export * from './weights.js';
export * from './session.js';
export * from './merge.js';
export * from './similarity.js';
export * from './repurchase.js';
export * from './seeded-random.js';
export * from './order.js';
export * from './bot-guard.js';
