// What other projects (the benchmarks) may use of serving: its wiring, never its main.
export * from './app.js';
export * from './batch-view-cache.js';
export * from './read-caches.js';
export * from './recommender.js';
