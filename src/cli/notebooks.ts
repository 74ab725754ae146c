/**
 * `mmctr notebooks [names...]`: executes the notebooks in notebooks/ headless with the project's tslab kernel, in
 * place, at a data scale (see src/notebooks/runner.ts). Exits non-zero on a cell error, naming notebook and cell.
 */
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { NOTEBOOK_SCALES, parseNotebookScale } from '../notebooks/context';
import { KERNEL_DISPLAY_NAME, MAX_NOTEBOOK_BYTES, runNotebooks, type NotebookRun } from '../notebooks/runner';

export interface NotebooksCommandOptions {
  /** Data scale: tiny | small. Default 'small'. */
  scale?: string;
  /** Execute twice into temporary copies and compare the files byte for byte; writes nothing in place. Default false. */
  checkDeterminism?: boolean;
  /** Write the executed notebooks into this folder instead of in place. Default: in place. */
  out?: string;
  /** Seconds one cell may run. Default 900. */
  cellTimeout?: string;
}

export async function runNotebooksCommand(names: string[], opts: NotebooksCommandOptions): Promise<NotebookRun[]> {
  const scale = parseNotebookScale(opts.scale, '--scale');
  const timeout = opts.cellTimeout !== undefined ? Number(opts.cellTimeout) : 900;
  if (!Number.isInteger(timeout) || timeout < 1) throw new MmctrError(`--cell-timeout ${opts.cellTimeout}: expected a positive integer (seconds)`);
  const runs = await runNotebooks({ names, scale, checkDeterminism: opts.checkDeterminism ?? false, outDir: opts.out, cellTimeoutSeconds: timeout });
  for (const r of runs) {
    const where = r.written ? `→ ${r.written}` : '(not written)';
    const identical = r.seconds.length > 1 ? ', two executions identical' : '';
    process.stdout.write(`${r.notebook}: OK${identical}, ${r.bytes.toLocaleString('en-US')} bytes ${where}\n`);
  }
  return runs;
}

export function register(program: Command): void {
  program
    .command('notebooks')
    .description(`execute the notebooks (notebooks/*.ipynb) headless with the "${KERNEL_DISPLAY_NAME}" kernel, in place`)
    .argument('[names...]', 'notebooks to run: file names, names without .ipynb, or a unique prefix such as 03 (default: all)')
    .option('--scale <scale>', `data scale the notebooks run on: ${NOTEBOOK_SCALES.join(' | ')} (MMCTR_SCALE in the kernel)`, 'small')
    .option('--check-determinism', 'execute each notebook twice into temporary copies and compare the files byte for byte (writes nothing in place)', false)
    .option('--out <dir>', 'write the executed notebooks into this folder instead of in place')
    .option('--cell-timeout <s>', 'seconds one cell may run', '900')
    .addHelpText(
      'after',
      [
        '',
        `The kernel is written by environment/jupyter.sh into .jupyter/ (JUPYTER_PATH); Jupyter runs on /usr/bin/python3.`,
        `Saved notebooks carry no timings, execution timestamps or absolute paths; each file must stay under ${MAX_NOTEBOOK_BYTES.toLocaleString('en-US')} bytes.`,
        'data/small is generated on first use (as `mmctr main` does); data/tiny is committed.',
        '',
        'Examples:',
        '  mmctr notebooks                                   # all, at small scale, in place (the committed outputs)',
        '  mmctr notebooks --scale tiny --check-determinism  # what CI runs',
        '  mmctr notebooks 03 --scale tiny --out /tmp/nb',
      ].join('\n'),
    )
    .action(async (names: string[], opts: NotebooksCommandOptions) => {
      await runNotebooksCommand(names, opts);
    });
}
