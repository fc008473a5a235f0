// What other projects (the benchmarks) may use of serving: its wiring, never its main.
export * from './app.js';
export * from './caches/batch-view-cache.js';
export * from './caches/catalog-facts-cache.js';
export * from './caches/repurchase-cache.js';
export * from './caches/similar-items-cache.js';
export * from './caches/user-items-cache.js';
export * from './recommender.js';
