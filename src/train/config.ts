/**
 * The training configuration: FuxiCTR's BaseModel settings, typed, with their defaults written down once here.
 * `resolveTrainConfig` validates a partial config (from CLI flags, a JSON file or a notebook cell) into a full one.
 */
import { MmctrError } from '../errors';

/** What early stopping and the plateau schedule watch (higher is better for all). */
export type Monitor = 'auc' | 'gauc' | 'aucMinusLogloss';

/** When to evaluate on valid: once per epoch, or every `steps` optimiser steps (FuxiCTR's `eval_steps`). */
export type EvalEvery = 'epoch' | { steps: number };

export interface TrainConfig {
  /** Passes over train at most. Default 100 (FuxiCTR; early stopping ends runs sooner). */
  epochs: number;
  /** Rows per optimiser step. Default 8192 (the challenge baseline). */
  batchSize: number;
  /** Adam's initial learning rate. Default 1e-3. */
  learningRate: number;
  /** Adam β1. Default 0.9 (PyTorch). */
  beta1: number;
  /** Adam β2. Default 0.999 (PyTorch). */
  beta2: number;
  /** Adam ε, added to √v̂ (PyTorch's form). Default 1e-8 (PyTorch). */
  epsilon: number;
  /**
   * L2 coefficient λ on the trainable embedding tables (`model.embeddingVariables()`): adds (λ/2)·‖W‖² per table
   * over the WHOLE table, as FuxiCTR ≥ 2.0 does (`emb_lambda / 2 · torch.norm(param, 2) ** 2`), not only the rows
   * a batch looked up. Default 1e-6 (the challenge baseline).
   */
  embeddingRegularizer: number;
  /** L2 coefficient on every other trainable variable (`model.networkVariables()`), same (λ/2)·‖W‖² form. Default 0. */
  netRegularizer: number;
  /** Gradients are rescaled when their global L2 norm exceeds this (PyTorch `clip_grad_norm_`). Default 10. */
  maxGradNorm: number;
  /** Evaluations in a row without a gain of at least `minDelta` that end the run. Default 2 (FuxiCTR's default; the baseline used 3). */
  patience: number;
  /** Least gain of the monitored metric that counts as an improvement. Default 1e-6. */
  minDelta: number;
  /** On an evaluation without gain, multiply the learning rate by `lrDecayFactor`. Default true. */
  reduceLrOnPlateau: boolean;
  /** Default 0.1. */
  lrDecayFactor: number;
  /** The learning rate never drops below this. Default 1e-6. */
  minLearningRate: number;
  /** Default 'auc'. */
  monitor: Monitor;
  /** Default 'epoch'. */
  evalEvery: EvalEvery;
  /** Rows per prediction batch on valid. Default 2048: larger batches of the bigger presets overflow the wasm heap (4 GiB). */
  evalBatchSize: number;
  /** Shuffle train each epoch (seeded by `seed` and the epoch index). Default true. */
  shuffle: boolean;
  /** Drop the last partial train batch. Default false. */
  dropLast: boolean;
  /** Seed of the shuffle. (Model initialisation is seeded by the model's own config.) Default 20242025 (the baseline's). */
  seed: number;
}

export const DEFAULT_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze({
  epochs: 100,
  batchSize: 8192,
  learningRate: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  embeddingRegularizer: 1e-6,
  netRegularizer: 0,
  maxGradNorm: 10,
  patience: 2,
  minDelta: 1e-6,
  reduceLrOnPlateau: true,
  lrDecayFactor: 0.1,
  minLearningRate: 1e-6,
  monitor: 'auc',
  evalEvery: 'epoch',
  evalBatchSize: 2048,
  shuffle: true,
  dropLast: false,
  seed: 20242025,
});

export class TrainConfigError extends MmctrError {
  constructor(field: string, value: unknown, expected: string) {
    super(`train config: ${field} = ${JSON.stringify(value)}; expected ${expected}`);
  }
}

const MONITORS: readonly Monitor[] = ['auc', 'gauc', 'aucMinusLogloss'];

/** Defaults applied, every field checked. Unknown fields are refused (a typo must not be silently ignored). */
export function resolveTrainConfig(partial: Partial<TrainConfig> = {}): TrainConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_TRAIN_CONFIG)) throw new TrainConfigError(key, (partial as Record<string, unknown>)[key], `a known field (${Object.keys(DEFAULT_TRAIN_CONFIG).join(', ')})`);
  }
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...defined };
  const int = (k: keyof TrainConfig, min: number) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new TrainConfigError(k, v, `an integer ≥ ${min}`);
  };
  const num = (k: keyof TrainConfig, lo: number, hi: number, openLo = false) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (openLo && v === lo)) {
      throw new TrainConfigError(k, v, `a number in ${openLo ? '(' : '['}${lo}, ${hi}]`);
    }
  };
  const bool = (k: keyof TrainConfig) => {
    if (typeof c[k] !== 'boolean') throw new TrainConfigError(k, c[k], 'true or false');
  };
  int('epochs', 1);
  int('batchSize', 1);
  int('evalBatchSize', 1);
  int('patience', 1);
  int('seed', 0);
  num('learningRate', 0, 10, true);
  num('minLearningRate', 0, 10);
  num('beta1', 0, 1);
  num('beta2', 0, 1);
  num('epsilon', 0, 1, true);
  num('embeddingRegularizer', 0, 1e3);
  num('netRegularizer', 0, 1e3);
  num('maxGradNorm', 0, Number.MAX_VALUE, true);
  num('minDelta', 0, 1);
  num('lrDecayFactor', 0, 1, true);
  bool('reduceLrOnPlateau');
  bool('shuffle');
  bool('dropLast');
  if (!MONITORS.includes(c.monitor)) throw new TrainConfigError('monitor', c.monitor, MONITORS.join(' | '));
  const e = c.evalEvery;
  if (e !== 'epoch' && !(typeof e === 'object' && e !== null && Number.isInteger(e.steps) && e.steps >= 1)) {
    throw new TrainConfigError('evalEvery', e, `'epoch' or { steps: positive integer }`);
  }
  return c;
}
