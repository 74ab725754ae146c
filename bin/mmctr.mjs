#!/usr/bin/env node
// Entry point of the `mmctr` command: registers the TypeScript loader, then runs the CLI in src/cli.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
