// What the other operator tool (npm run load) reads from this one: the services' metrics.
export * from './prometheus-text.js';
