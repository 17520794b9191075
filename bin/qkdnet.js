#!/usr/bin/env node
// Entry point of the `qkdnet` command: registers tsx so the TypeScript sources run directly
// (no build step between a checkout and a working CLI), then hands over to src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
if (typeof code === 'number') process.exitCode = code;
