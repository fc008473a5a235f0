// What other projects may use of the storefront: its wiring, never its main.
export * from './app.js';
