/**
 * The run folder a training writes (and `mmctr predict` / `mmctr compare` read):
 * ```
 * <run>/config.json            what was trained: model name + config, preset/args, train config, data root, seed, backend
 * <run>/metrics.jsonl          one EvalRecord per evaluation (per epoch by default)
 * <run>/checkpoint/latest.ckpt everything to resume: weights, Adam moments + step, schedule, position, best weights, history
 * <run>/checkpoint/best.ckpt   the best weights alone (what predict loads), with the evaluation that made them best
 * <run>/result.json            the outcome (TrainResult), written when training ends
 * ```
 * Every file is written atomically; metrics.jsonl is rewritten whole from the checkpoint's history on resume, so
 * it never holds an evaluation the checkpoint does not know.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CtrModel } from '../models/types';
import { MmctrError } from '../errors';
import { writeBytesAtomic } from '../util/atomicWrite';
import type { TrainConfig } from './config';
import { readCheckpoint, restoreVariables, writeCheckpoint, type TensorMap } from './checkpoint';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  result: 'result.json',
  latest: path.join('checkpoint', 'latest.ckpt'),
  best: path.join('checkpoint', 'best.ckpt'),
} as const;

/** Where the run came from, as the caller (CLI, notebook) knows it. Recorded in config.json. */
export interface RunInfo {
  /** Preset name the model was built from. */
  preset?: string;
  /** Extra model arguments given on top of the preset. */
  args?: Record<string, unknown>;
  /** Data root the splits were loaded from. */
  dataRoot?: string;
  /** History length the splits were loaded with. */
  seqLen?: number;
  /** Anything else worth keeping (command line, notes). */
  [key: string]: unknown;
}

/** config.json. */
export interface RunConfig {
  format: 'mmctr-run';
  version: 1;
  model: { name: string; config: Record<string, unknown>; paramCount: number };
  train: TrainConfig;
  seed: number;
  backend: string;
  info: RunInfo;
  createdAt: string;
  /** Each `--resume` that changed the epoch budget (train.epochs holds the latest). */
  resumes?: { at: string; epochsBefore: number; epochs: number }[];
}

/** Validation metrics of one evaluation. `gauc` is null when no valid user holds both labels. */
export interface ValidMetrics {
  auc: number;
  logloss: number;
  gauc: number | null;
}

/** One line of metrics.jsonl. */
export interface EvalRecord {
  /** Epoch (1-based) in which the evaluation happened. */
  epoch: number;
  /** Optimiser steps done so far. */
  step: number;
  /** Mean BCE of the train batches since the previous evaluation (without the L2 terms). */
  trainLoss: number;
  /** Mean global gradient norm (after L2, before clipping) since the previous evaluation. */
  gradNorm: number;
  valid: ValidMetrics;
  /** The monitored value (config.monitor). */
  monitor: number;
  improved: boolean;
  /** Learning rate used since the previous evaluation. */
  learningRate: number;
  /** Learning rate after this evaluation's schedule step. */
  nextLearningRate: number;
  /** Evaluations in a row without gain, after this one. */
  badEvaluations: number;
  /** Train rows per second over the period (optimiser steps only, evaluation excluded). */
  samplesPerSecond: number;
  /** Seconds of the period: training + evaluation. */
  seconds: number;
  /** Seconds of the evaluation. */
  evalSeconds: number;
}

/** The meta of best.ckpt. */
export interface BestCheckpointMeta {
  format: 'mmctr-weights';
  version: 1;
  model: { name: string; config: Record<string, unknown> };
  epoch: number;
  step: number;
  valid: ValidMetrics;
}

export class RunFolderError extends MmctrError {}

export function runPath(runDir: string, file: keyof typeof RUN_FILES): string {
  return path.join(runDir, RUN_FILES[file]);
}

export function writeJson(file: string, value: unknown): void {
  writeBytesAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T>(file: string): T {
  if (!fs.existsSync(file)) throw new RunFolderError(`${file} does not exist`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new RunFolderError(`${file} is not valid JSON`, { cause: err });
  }
}

/** The valid oracle AUC of a synthetic data root, from its ground_truth.json (`oracleAuc.valid`); null when absent. */
export function readOracleAuc(file: string): number | null {
  if (!fs.existsSync(file)) return null;
  const gt = readJson<{ oracleAuc?: { valid?: number } }>(file);
  const v = gt.oracleAuc?.valid;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function writeMetrics(runDir: string, history: EvalRecord[]): void {
  writeBytesAtomic(runPath(runDir, 'metrics'), history.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Appends one line (an append of one short line; the checkpoint's history is the durable copy). */
export function appendMetric(runDir: string, record: EvalRecord): void {
  fs.appendFileSync(runPath(runDir, 'metrics'), `${JSON.stringify(record)}\n`);
}

export function readMetrics(runDir: string): EvalRecord[] {
  const file = runPath(runDir, 'metrics');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as EvalRecord);
}

export function writeBestCheckpoint(runDir: string, meta: BestCheckpointMeta, weights: TensorMap): void {
  writeCheckpoint(runPath(runDir, 'best'), meta, weights);
}

/**
 * Loads best.ckpt of a run into a model built from the run's config.json. Checks the model name and config match
 * the checkpoint's.
 */
export function loadBestWeights(runDir: string, model: CtrModel): BestCheckpointMeta {
  const file = runPath(runDir, 'best');
  const { meta, tensors } = readCheckpoint<BestCheckpointMeta>(file);
  if (meta.format !== 'mmctr-weights') throw new RunFolderError(`${file}: not a weights checkpoint (format ${String(meta.format)})`);
  checkSameModel(file, meta.model, model);
  restoreVariables(model.namedWeights(), tensors, file);
  return meta;
}

/**
 * Throws when a checkpoint was written by another model or another model config. Options the saved config does not
 * name (added to the model after the checkpoint was written) are accepted at the model's value: a new option that
 * adds weights then fails in `restoreVariables`, naming the missing weight, and one that does not keeps old runs
 * loadable.
 */
export function checkSameModel(file: string, saved: { name: string; config: Record<string, unknown> }, model: CtrModel): void {
  if (saved.name !== model.name) throw new RunFolderError(`${file} holds a ${saved.name} model, not ${model.name}`);
  const current = model.config as Record<string, unknown>;
  const comparable = Object.fromEntries(Object.keys(current).filter((k) => k in saved.config).map((k) => [k, current[k]]));
  const a = canonicalJson(saved.config);
  const b = canonicalJson({ ...comparable, ...Object.fromEntries(Object.keys(saved.config).filter((k) => !(k in current)).map((k) => [k, undefined])) });
  if (a !== b) throw new RunFolderError(`${file} was written by ${saved.name} with config ${a}, but the model has config ${canonicalJson(current)}`);
}

/** JSON with object keys sorted (config equality regardless of key order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}
