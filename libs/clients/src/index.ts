export * from './logger.js';
export * from './kafka.js';
export * from './redis.js';
export * from './postgres.js';
export * from './close.js';
export * from './run-service.js';
export * from './event-consumer.js';
export * from './record-errors.js';
