/**
 * `mmctr predict --run <dir>`: rebuilds the run's model from its config.json, loads checkpoint/best.ckpt, predicts
 * the test split in batches and writes the submission: prediction.csv (`ID`, score column) and `<id>.zip`.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { loadSplit } from '../data/load';
import { BACKEND_NAMES, parseBackendName, selectBackend } from '../engine/backend';
import { predict } from '../eval/predict';
import { DEFAULT_SCORE_COLUMN, writeSubmission } from '../eval/submission';
import { openRun } from '../train/openRun';
import { DATA_ROOT_HELP, parseDataRoot } from './validate';

export interface PredictCommandOptions {
  /** Run folder. Required. */
  run?: string;
  /** Data root. Default: the run's (config.json). */
  data?: string;
  /** Score column. Default 'Task2'. */
  column?: string;
  /** Output folder. Default <run>/submission. */
  out?: string;
  /** Archive name without .zip. Default: the run folder's name. */
  id?: string;
  /** Rows per forward pass. Default 2048. */
  batchSize?: string;
  backend?: string;
}

export async function runPredict(opts: PredictCommandOptions): Promise<void> {
  if (!opts.run) throw new MmctrError('--run <dir> is required (a folder written by mmctr train)');
  const runDir = opts.run;
  const batchSize = parseBatchSize(opts.batchSize);
  const dataRoot = opts.data !== undefined ? parseDataRoot(opts.data) : undefined;
  await selectBackend(opts.backend !== undefined ? { force: parseBackendName(opts.backend, '--backend'), forceLabel: '--backend' } : {});
  const run = await openRun(runDir, { dataRoot });
  try {
    const test = await loadSplit(run.dataRoot, 'test', { seqLen: run.seqLen });
    if (!test.id) throw new MmctrError(`${run.dataRoot}: test.parquet has no ID column; a submission needs it`);
    process.stderr.write(`model: ${run.name}, best epoch ${run.best.epoch} (valid AUC ${run.best.valid.auc.toFixed(6)}); predicting ${test.rows.toLocaleString('en-US')} test rows\n`);
    const scores = await predict(run.model, test, { batchSize, progress: true });
    const files = writeSubmission(test.id, scores, {
      outDir: opts.out ?? path.join(runDir, 'submission'),
      experimentId: opts.id ?? path.basename(path.resolve(runDir)),
      column: opts.column ?? DEFAULT_SCORE_COLUMN,
    });
    process.stdout.write(`${files.csvPath} (${files.rows.toLocaleString('en-US')} rows, column ${files.column})\n${files.zipPath}\n`);
  } finally {
    run.model.dispose();
  }
}

/** --batch-size: rows per forward pass, default 2048. */
export function parseBatchSize(value: string | undefined): number {
  const batchSize = value !== undefined ? Number(value) : 2048;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new MmctrError(`--batch-size ${value}: expected a positive integer`);
  return batchSize;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description("Predict the test split with a run's best weights and write the submission (prediction.csv + <id>.zip)")
    .option('--run <dir>', 'run folder written by mmctr train')
    .option('--data <root>', `${DATA_ROOT_HELP} (default: the run's)`)
    .option('--column <name>', `score column: Task1 | Task2 | Task1&2 | any name (default ${DEFAULT_SCORE_COLUMN})`)
    .option('--out <dir>', 'output folder (default <run>/submission)')
    .option('--id <name>', "experiment id, the archive's name (default: the run folder's name)")
    .option('--batch-size <n>', 'rows per forward pass (default 2048)')
    .option('--backend <name>', `force a backend: ${BACKEND_NAMES.join(' | ')}`)
    .addHelpText('after', '\nExample: mmctr predict --run runs/din1 --column Task2   →   runs/din1/submission/{prediction.csv,din1.zip}')
    .action(async (opts: PredictCommandOptions) => runPredict(opts));
}
