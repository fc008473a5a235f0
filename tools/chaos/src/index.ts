export * from './faults.js';
export * from './load.js';
export * from './probe.js';
export * from './run.js';
export * from './verify.js';
export * from './topology.js';
export * from './calibrate.js';
