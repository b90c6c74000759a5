#!/usr/bin/env node
// Runs a TypeScript entry point with tsx's loader (Node >= 20.6), so the CLI, benchmarks and
// fixture tools share the same sources as the app without a separate build step.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.js FILE.ts [args...]');
  process.exit(2);
}
register();
process.argv = [process.argv[0], resolve(entry), ...rest];
await import(pathToFileURL(resolve(entry)).href);
