// What the operator tools (npm run load) read from the eval: the dataset and the progress line.
export * from './dataset.js';
export * from './progress.js';
