// What other projects (the benchmarks) may use of ingest: its wiring, never its main.
export * from './app.js';
export * from './event-publisher.js';
