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
process.exitCode = await main(process.argv.slice(2));
