export * from './local-infrastructure.js';
export * from './demo-shop.js';
