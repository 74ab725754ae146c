/**
 * The trainer's state between steps and its checkpoint: what latest.ckpt holds (weights, Adam moments and step,
 * the best weights where they differ from the current ones, the schedule, the position, the history), how a run
 * starts (`freshRun`), is saved (`saveLatest`) and continues (`resume`).
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import type { CtrModel } from '../models/types';
import { MmctrError } from '../errors';
import type { TrainConfig } from './config';
import type { Adam } from './adam';
import { initialSchedule, type ScheduleState } from './schedule';
import { prefixed, readCheckpoint, restoreVariables, sameTensor, snapshotVariables, withPrefix, writeCheckpoint, type TensorMap } from './checkpoint';
import { type EvalRecord, type RunConfig, type RunInfo, type ValidMetrics, checkSameModel, readJson, runPath, writeJson, writeMetrics } from './runFolder';

export interface BestEvaluation {
  epoch: number;
  step: number;
  valid: ValidMetrics;
  monitor: number;
}

export type StopReason = 'earlyStop' | 'maxEpochs';

/** What latest.ckpt's header holds besides the tensors. */
export interface TrainingCheckpointMeta {
  format: 'mmctr-train-checkpoint';
  version: 1;
  model: { name: string; config: Record<string, unknown> };
  config: TrainConfig;
  /** Where to continue: epoch (0-based) and its next batch; steps done. */
  position: { epoch: number; batch: number; step: number };
  schedule: { learningRate: number; best: number | null; badEvaluations: number };
  adamStep: number;
  best: BestEvaluation | null;
  /** Weight names whose best value differs from the current one (stored as `best/<name>`); others equal `weights/`. */
  bestDiffers: string[];
  history: EvalRecord[];
  finished: StopReason | null;
  seconds: number;
  trainSeconds: number;
  samples: number;
}

/** Mutable loop state, all of it saved in checkpoints. */
export interface LoopState {
  epoch: number;
  batch: number;
  step: number;
  schedule: ScheduleState;
  best: BestEvaluation | null;
  bestWeights: TensorMap | null;
  history: EvalRecord[];
  finished: StopReason | null;
  seconds: number;
  trainSeconds: number;
  samples: number;
}

/** Starts a run: writes config.json and an empty metrics.jsonl, removes an old result and checkpoints. */
export function freshRun(runDir: string | null, model: CtrModel, cfg: TrainConfig, info: RunInfo): LoopState {
  if (runDir) {
    fs.mkdirSync(runDir, { recursive: true });
    for (const f of ['latest', 'best', 'result'] as const) fs.rmSync(runPath(runDir, f), { force: true });
    const runConfig: RunConfig = {
      format: 'mmctr-run',
      version: 1,
      model: { name: model.name, config: model.config, paramCount: model.paramCount() },
      train: cfg,
      seed: cfg.seed,
      backend: tf.getBackend(),
      info,
      createdAt: new Date().toISOString(),
    };
    writeJson(runPath(runDir, 'config'), runConfig);
    writeMetrics(runDir, []);
  }
  return {
    epoch: 0,
    batch: 0,
    step: 0,
    schedule: initialSchedule(cfg),
    best: null,
    bestWeights: null,
    history: [],
    finished: null,
    seconds: 0,
    trainSeconds: 0,
    samples: 0,
  };
}

/** config.json says what the run trains for: a resume with another epoch budget rewrites it (and notes the change). */
function recordEpochBudget(runDir: string, epochs: number): void {
  const file = runPath(runDir, 'config');
  if (!fs.existsSync(file)) return;
  const rc = readJson<RunConfig>(file);
  if (rc.train.epochs === epochs) return;
  const change = { at: new Date().toISOString(), epochsBefore: rc.train.epochs, epochs };
  writeJson(file, { ...rc, train: { ...rc.train, epochs }, resumes: [...(rc.resumes ?? []), change] });
}

/** Writes latest.ckpt: weights, Adam state, best weights where they differ, and the loop state. */
export async function saveLatest(runDir: string, model: CtrModel, cfg: TrainConfig, state: LoopState, named: Map<string, tf.Variable>, adam: Adam): Promise<void> {
  const weights = await snapshotVariables(named);
  const bestDiffers: string[] = [];
  const tensors: TensorMap = new Map([...prefixed('weights/', weights), ...prefixed('adam/', await adam.state())]);
  if (state.bestWeights) {
    for (const [name, t] of state.bestWeights) {
      if (!sameTensor(t, weights.get(name)!)) {
        bestDiffers.push(name);
        tensors.set(`best/${name}`, t);
      }
    }
  }
  const meta: TrainingCheckpointMeta = {
    format: 'mmctr-train-checkpoint',
    version: 1,
    model: { name: model.name, config: model.config },
    config: cfg,
    position: { epoch: state.epoch, batch: state.batch, step: state.step },
    schedule: { learningRate: state.schedule.learningRate, best: Number.isFinite(state.schedule.best) ? state.schedule.best : null, badEvaluations: state.schedule.badEvaluations },
    adamStep: adam.step,
    best: state.best,
    bestDiffers,
    history: state.history,
    finished: state.finished,
    seconds: state.seconds,
    trainSeconds: state.trainSeconds,
    samples: state.samples,
  };
  writeCheckpoint(runPath(runDir, 'latest'), meta, tensors);
}

/** Reads latest.ckpt into the model and the optimiser; returns the loop state to continue from. */
export function resume(runDir: string, model: CtrModel, cfg: TrainConfig, named: Map<string, tf.Variable>, adam: Adam): LoopState {
  const file = runPath(runDir, 'latest');
  const { meta, tensors } = readCheckpoint<TrainingCheckpointMeta>(file);
  if (meta.format !== 'mmctr-train-checkpoint') throw new MmctrError(`${file}: not a training checkpoint (format ${String(meta.format)})`);
  checkSameModel(file, meta.model, model);
  // Any change but the epoch budget would make the resumed run differ from an uninterrupted one.
  const { epochs: _a, ...savedRest } = meta.config;
  const { epochs: _b, ...rest } = cfg;
  const changed = Object.keys(rest).filter((k) => JSON.stringify(rest[k as keyof typeof rest]) !== JSON.stringify(savedRest[k as keyof typeof savedRest]));
  if (changed.length) {
    throw new MmctrError(`${file}: cannot resume with a different train config (${changed.map((k) => `${k}: ${JSON.stringify(savedRest[k as keyof typeof savedRest])} → ${JSON.stringify(rest[k as keyof typeof rest])}`).join(', ')}); only epochs may change`);
  }
  const weights = withPrefix('weights/', tensors);
  restoreVariables(named, weights, file);
  recordEpochBudget(runDir, cfg.epochs);
  adam.restore(withPrefix('adam/', tensors), meta.adamStep, file);
  let bestWeights: TensorMap | null = null;
  if (meta.best) {
    const diff = new Set(meta.bestDiffers);
    bestWeights = new Map();
    for (const name of named.keys()) {
      const t = diff.has(name) ? tensors.get(`best/${name}`) : weights.get(name);
      if (!t) throw new MmctrError(`${file}: best weight ${name} is missing`);
      bestWeights.set(name, t);
    }
  }
  return {
    epoch: meta.position.epoch,
    batch: meta.position.batch,
    step: meta.position.step,
    schedule: { learningRate: meta.schedule.learningRate, best: meta.schedule.best ?? -Infinity, badEvaluations: meta.schedule.badEvaluations },
    best: meta.best,
    bestWeights,
    history: meta.history,
    // A finished run given more epochs by maxEpochs continues; an early-stopped one stays stopped.
    finished: meta.finished === 'maxEpochs' && meta.position.epoch < cfg.epochs ? null : meta.finished,
    seconds: meta.seconds,
    trainSeconds: meta.trainSeconds,
    samples: meta.samples,
  };
}
