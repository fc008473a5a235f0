export * from './infra.js';
export * from './builders.js';
export * from './isolation.js';
export { testLogger } from './test-logger.js';
export * from './private-postgres.js';
export * from './private-kafka.js';
export * from './session-state.js';
export * from './retail-history.js';
