export * from './migrations.js';
export * from './session-store.js';
export * from './catalog-repository.js';
export * from './event-archive.js';
export * from './batch-runs-repository.js';
export * from './batch-view-repository.js';
