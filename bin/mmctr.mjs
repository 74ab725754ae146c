#!/usr/bin/env node
// Entry point of the `mmctr` command: registers the TypeScript loader, then runs the CLI in src/cli.
import { register } from 'tsx/esm/api';

register();
// A reader that stops early (`mmctr embed --help | head`) closes the pipe: end quietly, as other commands do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { main } = await import('../src/cli/main.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // Known errors are printed by main() in one line. Anything else is a bug: print its stack once and exit here,
  // before tfjs-wasm's own uncaught-exception handler rethrows it and Node prints the minified module source.
  process.stderr.write(`mmctr: unexpected error (a bug; please report it with this stack)\n${err?.stack ?? err}\n`);
  process.exit(70);
}
