/**
 * `mmctr compare`: one table over the run folders (and ensemble folders) under `--runs`: model, preset, parameters, best valid AUC,
 * logloss, gAUC, the gap to the oracle AUC (synthetic data), train samples/s.
 */
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { compareRuns, findRuns, formatRunTable } from '../train/compareRuns';

export interface CompareCommandOptions {
  /** Folder of run folders (or one run folder). Default 'runs'. */
  runs?: string;
  /** ground_truth.json whose oracleAuc.valid is the reference. Default: each run's <data>/oracle/ground_truth.json. */
  oracle?: string;
  /** Print JSON instead of the table. Default false. */
  json?: boolean;
}

export function runCompare(opts: CompareCommandOptions): void {
  const dir = opts.runs ?? 'runs';
  const runs = findRuns(dir);
  if (runs.length === 0) throw new MmctrError(`--runs ${dir}: no run folders (folders holding config.json, or ensemble.json from mmctr ensemble) found`);
  const rows = compareRuns(runs, opts.oracle);
  process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : formatRunTable(rows));
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('Compare training runs: model, params, valid AUC, logloss, gAUC, gap to the oracle AUC, samples/s')
    .option('--runs <dir>', 'folder holding run folders, or one run folder (default runs/)')
    .option('--oracle <file>', "ground_truth.json of a synthetic data root (default: each run's <data>/oracle/ground_truth.json)")
    .option('--json', 'print JSON rows instead of the table', false)
    .action((opts: CompareCommandOptions) => runCompare(opts));
}
