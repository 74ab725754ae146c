/**
 * `mmctr ensemble --runs a,b,c --out <dir>`: combines trained runs row by row (the mean of their logits, or of their
 * probabilities), prints the members' and the ensemble's valid AUC / logloss / gAUC next to the oracle AUC, and writes
 * the ensemble folder (src/train/ensembleRun.ts): ensemble.json and the test submission.
 */
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { BACKEND_NAMES, parseBackendName, selectBackend } from '../engine/backend';
import { COMBINE_MODES, EnsembleError, normaliseWeights, type CombineMode } from '../eval/ensemble';
import { DEFAULT_SCORE_COLUMN } from '../eval/submission';
import { compareRuns, formatRunTable } from '../train/compareRuns';
import { runEnsemble } from '../train/ensembleRun';
import { parseBatchSize } from './predict';

export interface EnsembleCommandOptions {
  /** Comma-separated run folders (at least two). Required. */
  runs?: string;
  /** Output folder. Required. */
  out?: string;
  /** logit | prob. Default logit. */
  combine?: string;
  /** Comma-separated weights, one per run. Default equal. */
  weights?: string;
  /** Score column. Default 'Task2'. */
  column?: string;
  /** Archive name without .zip. Default: the output folder's name. */
  id?: string;
  /** Skip the test split and the submission. */
  submission?: boolean;
  batchSize?: string;
  backend?: string;
  /** Progress bars on stderr (default true; --no-progress). */
  progress?: boolean;
}

export async function runEnsembleCommand(opts: EnsembleCommandOptions): Promise<void> {
  const runs = (opts.runs ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (runs.length < 2) throw new MmctrError('--runs a,b[,…]: give at least two run folders written by mmctr train');
  if (!opts.out) throw new MmctrError('--out <dir> is required (the ensemble folder to write)');
  const combine = (opts.combine ?? 'logit') as CombineMode;
  if (!COMBINE_MODES.includes(combine)) throw new MmctrError(`--combine ${opts.combine}: expected one of ${COMBINE_MODES.join(', ')}`);
  const weights = opts.weights?.split(',').map((s) => Number(s.trim()));
  // Checked here, before any model is loaded, by the same rule the combination applies.
  try {
    normaliseWeights(runs.length, weights);
  } catch (err) {
    if (err instanceof EnsembleError) throw new MmctrError(`--weights ${opts.weights}: ${err.message}`);
    throw err;
  }
  const batchSize = parseBatchSize(opts.batchSize);
  const backend = await selectBackend(opts.backend !== undefined ? { force: parseBackendName(opts.backend, '--backend'), forceLabel: '--backend' } : {});
  const record = await runEnsemble(runs, {
    outDir: opts.out,
    combine,
    weights,
    submission: opts.submission !== false,
    column: opts.column ?? DEFAULT_SCORE_COLUMN,
    experimentId: opts.id,
    batchSize,
    backend: backend.name,
    log: (line) => process.stderr.write(`${line}\n`),
    progress: opts.progress !== false,
  });
  const f = (x: number | null) => (x === null ? '-' : x.toFixed(5));
  const lines = [
    ...record.members.map((m) => `  ${m.run}  ${m.model}${m.preset ? ` (${m.preset})` : ''}  weight ${m.weight.toFixed(3)}  valid AUC ${f(m.valid.auc)}  logloss ${f(m.valid.logloss)}  gAUC ${f(m.valid.gauc)}`),
    `ensemble (${record.combine} mean of ${record.members.length}): valid AUC ${f(record.valid.auc)}  logloss ${f(record.valid.logloss)}  gAUC ${f(record.valid.gauc)}` +
      (record.oracleAuc !== null ? `  vs oracle AUC ${f(record.oracleAuc)} (gap ${f(record.oracleAuc - record.valid.auc)})` : ''),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (record.submission) process.stdout.write(`${record.submission.csv} (${record.submission.rows.toLocaleString('en-US')} rows, column ${record.submission.column})\n${record.submission.zip}\n`);
  process.stdout.write(`\n${formatRunTable(compareRuns([opts.out]))}`);
}

export function register(program: Command): void {
  program
    .command('ensemble')
    .description('Combine trained runs (mean of logits or probabilities), evaluate on valid and write the ensemble submission')
    .option('--runs <a,b,…>', 'run folders written by mmctr train (at least two; they must score the same valid and test rows)')
    .option('--out <dir>', 'ensemble folder to write: ensemble.json, submission/')
    .option('--combine <mode>', `${COMBINE_MODES.join(' | ')}: mean of the logits or of the probabilities (default logit)`)
    .option('--weights <w1,w2,…>', 'one weight per run (default equal)')
    .option('--column <name>', `score column of prediction.csv (default ${DEFAULT_SCORE_COLUMN})`)
    .option('--id <name>', "experiment id, the archive's name (default: the output folder's name)")
    .option('--no-submission', 'evaluate on valid only: skip the test split and the submission')
    .option('--batch-size <n>', 'rows per forward pass (default 2048)')
    .option('--backend <name>', `force a backend: ${BACKEND_NAMES.join(' | ')}`)
    .option('--no-progress', 'print no progress bars on stderr')
    .addHelpText('after', '\nExample: mmctr ensemble --runs runs/din-s1,runs/din-s2,runs/din-s3 --out runs/din-ens   →   runs/din-ens/{ensemble.json,submission/}')
    .action(async (opts: EnsembleCommandOptions) => runEnsembleCommand(opts));
}
