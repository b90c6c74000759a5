#!/usr/bin/env node
// `npx moco-cxr ...`: the Node CLI over src/core (inspect, convert, eval).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
