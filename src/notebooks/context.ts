/**
 * What a notebook needs to know about where it runs: the data scale (`MMCTR_SCALE`, set by `mmctr notebooks
 * --scale`; default `small`), the data root and run folders of that scale, the seeds, and training settings sized
 * so that each notebook stays within minutes on 2 CPU cores. Notebooks call `notebookContext()` in their first cell
 * and `ensureNotebookData()` before loading; everything they write goes under `runs/notebooks/<scale>/`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MmctrError } from '../errors';
import { DEFAULT_SYNTH_SEED, synthesize } from '../data/synth';

/** Data scales a notebook runs at: `tiny` (committed, CI) or `small` (the default data, generated on first use). */
export type NotebookScale = 'tiny' | 'small';

export const NOTEBOOK_SCALES: readonly NotebookScale[] = ['tiny', 'small'];

/** The environment variable that carries the scale into the kernel. */
export const SCALE_ENV_VAR = 'MMCTR_SCALE';

/**
 * Overrides where notebooks write runs (relative to the repository root; default `runs/notebooks/<scale>`): the UI
 * test uses its own folder so that it never shares run folders with a concurrent `mmctr notebooks`.
 */
export const RUNS_ENV_VAR = 'MMCTR_NOTEBOOK_RUNS';

/** Training settings of the notebooks at one scale (small presets; see `NOTEBOOK_TRAINING`). */
export interface NotebookTraining {
  /** Epochs at most. */
  epochs: number;
  /** Rows per optimiser step. */
  batchSize: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** Evaluations without gain before stopping. */
  patience: number;
}

/** tiny: one quick epoch (CI executes every notebook twice); small: the main job's settings, 2 epochs. */
export const NOTEBOOK_TRAINING: Readonly<Record<NotebookScale, NotebookTraining>> = Object.freeze({
  tiny: { epochs: 1, batchSize: 256, learningRate: 2e-3, patience: 1 },
  small: { epochs: 2, batchSize: 512, learningRate: 2e-3, patience: 1 },
});

export interface NotebookContext {
  scale: NotebookScale;
  /** Data root, relative to the repository root: `data/<scale>`. */
  dataRoot: string;
  /** Where notebooks write runs, embeddings and submissions: `runs/notebooks/<scale>`. */
  runsRoot: string;
  /** Seed of the synthetic data (the default data's). */
  dataSeed: number;
  /** Seed of model initialisation, shuffling and Word2Vec in every notebook. */
  seed: number;
  training: NotebookTraining;
}

/** Parses a scale name (from `--scale` or `MMCTR_SCALE`); `what` names the source in the error. */
export function parseNotebookScale(value: string | undefined, what = SCALE_ENV_VAR): NotebookScale {
  if (value === undefined || value === '') return 'small';
  if (!(NOTEBOOK_SCALES as readonly string[]).includes(value)) {
    throw new MmctrError(`${what}=${value}: expected one of ${NOTEBOOK_SCALES.join(', ')}`);
  }
  return value as NotebookScale;
}

/** The context of the scale in `env` (default `process.env`). Paths are relative to the repository root, where the kernel runs. */
export function notebookContext(env: Record<string, string | undefined> = process.env): NotebookContext {
  const scale = parseNotebookScale(env[SCALE_ENV_VAR]);
  return {
    scale,
    dataRoot: path.join('data', scale),
    runsRoot: env[RUNS_ENV_VAR] || path.join('runs', 'notebooks', scale),
    dataSeed: DEFAULT_SYNTH_SEED,
    seed: 20242025,
    training: { ...NOTEBOOK_TRAINING[scale] },
  };
}

/** True when the data root holds a generated data set (its ground truth is written last). */
export function hasNotebookData(dataRoot: string): boolean {
  return existsSync(path.join(dataRoot, 'oracle', 'ground_truth.json'));
}

/**
 * Generates the synthetic data set of the context's scale when its data root holds none (as `mmctr main` does);
 * returns whether it generated. Silent, so that a notebook's output does not depend on whether the data existed.
 */
export async function ensureNotebookData(ctx: Pick<NotebookContext, 'scale' | 'dataRoot' | 'dataSeed'>): Promise<boolean> {
  if (hasNotebookData(ctx.dataRoot)) return false;
  await synthesize({ outDir: ctx.dataRoot, scale: ctx.scale, seed: ctx.dataSeed, progress: false });
  return true;
}
