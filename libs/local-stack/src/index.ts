export * from './local-infrastructure.js';
export * from './cluster-infrastructure.js';
export * from './demo-shop.js';
export * from './fleet.js';
