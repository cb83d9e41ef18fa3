// crdt.d.mts - lets TypeScript find crdt.d.ts for an import of './crdt.mjs'
// (a .mjs file's declarations are looked for in a .d.mts beside it).
export * from './crdt.js';
export { default } from './crdt.js';
