// Package root: dist/index.js. The API lives in src/index.ts.
export * from './src/index.js';
