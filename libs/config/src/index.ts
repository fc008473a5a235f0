export * from './load-config.js';
export * from './schemas.js';
export * from './storefront-schema.js';
