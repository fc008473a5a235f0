// What other projects (the benchmarks) may use of the speed layer: its wiring, never its main.
export * from './app.js';
export * from './consumer.js';
export * from './session-applier.js';
