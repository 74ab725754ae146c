/**
 * An ensemble folder (`mmctr ensemble`): trained runs combined row by row (src/eval/ensemble.ts), evaluated on the
 * valid split and written out as a challenge submission.
 * ```
 * <out>/ensemble.json                  members (run, model, preset, params, their valid metrics), the combination,
 *                                      the ensemble's valid AUC / logloss / gAUC, the oracle AUC where known
 * <out>/submission/prediction.csv      ID + score column, and <out>/submission/<id>.zip
 * ```
 * Members may come from different data roots (e.g. one trained on a Task 1 table, one on the shipped item_emb) as
 * long as they score the same valid and test rows: the labels, user ids and test IDs are compared, not the paths.
 * One model is in memory at a time; members reading the same split files share them once loaded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadSplit } from '../data/load';
import { type InteractionSplit, microlensTables } from '../data/schema';
import { MmctrError } from '../errors';
import { type CombineMode, combinePredictions, normaliseWeights } from '../eval/ensemble';
import { predict } from '../eval/predict';
import { DEFAULT_SCORE_COLUMN, type ScoreColumn, type SubmissionFiles, writeSubmission } from '../eval/submission';
import { openRun } from './openRun';
import { validMetricsOf } from './trainer';
import { type ValidMetrics, readJson, readOracleAuc, runPath, writeJson } from './runFolder';

export const ENSEMBLE_FILE = 'ensemble.json';

export interface EnsembleMember {
  /** The run folder, as given. */
  run: string;
  model: string;
  preset: string | null;
  params: number;
  dataRoot: string;
  /** Normalised weight. */
  weight: number;
  /** The epoch of the weights used (best.ckpt). */
  bestEpoch: number;
  /** Metrics of this member's predictions on the valid split. */
  valid: ValidMetrics;
}

/** ensemble.json. */
export interface EnsembleRecord {
  format: 'mmctr-ensemble';
  version: 1;
  combine: CombineMode;
  members: EnsembleMember[];
  valid: ValidMetrics;
  /** Valid rows scored. */
  validRows: number;
  /** The first member's <data>/oracle/ground_truth.json oracleAuc.valid; null when absent. */
  oracleAuc: number | null;
  backend: string;
  createdAt: string;
  submission: { csv: string; zip: string; rows: number; column: string } | null;
}

export interface EnsembleOptions {
  /** Output folder. Required. */
  outDir: string;
  /** Default 'logit'. */
  combine?: CombineMode;
  /** One weight per run; default equal. */
  weights?: readonly number[];
  /** Write the test submission. Default true. */
  submission?: boolean;
  /** Score column of prediction.csv. Default 'Task2'. */
  column?: ScoreColumn;
  /** Archive name without .zip. Default: the output folder's name. */
  experimentId?: string;
  /** Rows per forward pass. Default 2048. */
  batchSize?: number;
  /** Backend name recorded in ensemble.json (the caller selected it). */
  backend: string;
  /** Oracle AUC of the data (synthetic); default read from the first member's data root. */
  oracleAuc?: number | null;
  /** Progress lines (one per member and split). */
  log?: (line: string) => void;
  /** Progress bars of the predictions on stderr. Default false. */
  progress?: boolean;
}

export class EnsembleRunError extends MmctrError {}

/** Rows of two splits are the same when their labels, users and IDs agree row by row. */
function sameRows(a: InteractionSplit, b: InteractionSplit): string | null {
  if (a.rows !== b.rows) return `${a.rows} rows against ${b.rows}`;
  const pairs: [string, ArrayLike<number> | null, ArrayLike<number> | null][] = [
    ['label', a.label, b.label],
    ['user_id', a.userId, b.userId],
    ['item_id', a.itemId, b.itemId],
    ['ID', a.id ?? null, b.id ?? null],
  ];
  for (const [column, x, y] of pairs) {
    if ((x === null) !== (y === null)) return `column ${column} present in one only`;
    if (x === null || y === null) continue;
    for (let r = 0; r < a.rows; r++) if (x[r] !== y[r]) return `column ${column} differs at row ${r} (${x[r]} against ${y[r]})`;
  }
  return null;
}

/** Predicts valid (and test) with every run, combines, evaluates and writes the ensemble folder. */
export async function runEnsemble(runDirs: readonly string[], opts: EnsembleOptions): Promise<EnsembleRecord> {
  if (runDirs.length < 2) throw new EnsembleRunError(`an ensemble needs at least two runs, got ${runDirs.length}`);
  if (new Set(runDirs.map((d) => path.resolve(d))).size !== runDirs.length) throw new EnsembleRunError('a run is listed twice; give each run once (use --weights to weigh one more)');
  if (fs.existsSync(runPath(opts.outDir, 'config'))) throw new EnsembleRunError(`${opts.outDir} holds a training run (config.json); choose another --out`);
  const combine = opts.combine ?? 'logit';
  const weights = normaliseWeights(runDirs.length, opts.weights);
  const wantTest = opts.submission ?? true;
  const log = opts.log ?? (() => {});
  const validPreds: Float32Array[] = [];
  const testPreds: Float32Array[] = [];
  const members: EnsembleMember[] = [];
  let valid0: InteractionSplit | null = null;
  let test0: InteractionSplit | null = null;
  // Members that read the same split file (the same data root, or roots `mmctr embed` linked to it) with the same
  // history length share it: loaded once.
  const splits = new Map<string, Promise<InteractionSplit>>();
  const split = (root: string, name: 'valid' | 'test', seqLen: number) => {
    const file = path.join(root, microlensTables()[name].path);
    const key = JSON.stringify([fs.existsSync(file) ? fs.realpathSync(file) : path.resolve(file), seqLen]);
    if (!splits.has(key)) splits.set(key, loadSplit(root, name, { seqLen }));
    return splits.get(key)!;
  };
  for (const [m, dir] of runDirs.entries()) {
    const run = await openRun(dir);
    try {
      const valid = await split(run.dataRoot, 'valid', run.seqLen);
      if (!valid.label) throw new EnsembleRunError(`${run.dataRoot}: valid.parquet has no label column; an ensemble is evaluated on it`);
      if (valid0) {
        const diff = sameRows(valid, valid0);
        if (diff) throw new EnsembleRunError(`${dir} scores other valid rows than ${runDirs[0]} (${run.dataRoot} against ${members[0].dataRoot}: ${diff})`);
      } else valid0 = valid;
      const p = await predict(run.model, valid, { batchSize: opts.batchSize, progress: opts.progress });
      const e = validMetricsOf(valid, p);
      validPreds.push(p);
      members.push({
        run: dir,
        model: run.name,
        preset: typeof run.config.info.preset === 'string' ? run.config.info.preset : null,
        params: run.config.model.paramCount,
        dataRoot: run.dataRoot,
        weight: weights[m],
        bestEpoch: run.best.epoch,
        valid: e,
      });
      log(`${dir}: ${run.name}, best epoch ${run.best.epoch}, valid AUC ${e.auc.toFixed(6)}`);
      if (wantTest) {
        const test = await split(run.dataRoot, 'test', run.seqLen);
        if (!test.id) throw new EnsembleRunError(`${run.dataRoot}: test.parquet has no ID column; a submission needs it`);
        if (test0) {
          const diff = sameRows(test, test0);
          if (diff) throw new EnsembleRunError(`${dir} scores other test rows than ${runDirs[0]} (${run.dataRoot} against ${members[0].dataRoot}: ${diff})`);
        } else test0 = test;
        testPreds.push(await predict(run.model, test, { batchSize: opts.batchSize, progress: opts.progress }));
        log(`${dir}: ${test.rows.toLocaleString('en-US')} test rows predicted`);
      }
    } finally {
      run.model.dispose();
    }
  }
  const names = runDirs.map(String);
  const validP = combinePredictions(validPreds, { mode: combine, weights: Array.from(weights), names });
  const valid = validMetricsOf(valid0!, validP);
  let submission: SubmissionFiles | null = null;
  if (wantTest) {
    const testP = combinePredictions(testPreds, { mode: combine, weights: Array.from(weights), names });
    submission = writeSubmission(test0!.id!, testP, {
      outDir: path.join(opts.outDir, 'submission'),
      experimentId: opts.experimentId ?? path.basename(path.resolve(opts.outDir)),
      column: opts.column ?? DEFAULT_SCORE_COLUMN,
    });
  }
  const record: EnsembleRecord = {
    format: 'mmctr-ensemble',
    version: 1,
    combine,
    members,
    valid,
    validRows: valid0!.rows,
    oracleAuc: opts.oracleAuc !== undefined ? opts.oracleAuc : readOracleAuc(path.join(members[0].dataRoot, 'oracle', 'ground_truth.json')),
    backend: opts.backend,
    createdAt: new Date().toISOString(),
    submission: submission ? { csv: submission.csvPath, zip: submission.zipPath, rows: submission.rows, column: submission.column } : null,
  };
  fs.mkdirSync(opts.outDir, { recursive: true });
  writeJson(path.join(opts.outDir, ENSEMBLE_FILE), record);
  return record;
}

/** Reads `<dir>/ensemble.json`; throws when it is not an ensemble record. */
export function readEnsemble(dir: string): EnsembleRecord {
  const file = path.join(dir, ENSEMBLE_FILE);
  const rec = readJson<EnsembleRecord>(file);
  if (rec.format !== 'mmctr-ensemble') throw new EnsembleRunError(`${file}: not an ensemble record (format ${String(rec.format)})`);
  return rec;
}
