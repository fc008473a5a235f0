export * from './server.js';
export * from './error-handler.js';
export * from './health.js';
export * from './metrics.js';
export * from './openapi.js';
export * from './service-app.js';
export * from './secrets.js';
export * from './same-origin.js';
