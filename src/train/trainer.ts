/**
 * The training loop, FuxiCTR's `BaseModel.fit` without the model in it:
 *
 * - loss = mean BCE on logits (`tf.losses.sigmoidCrossEntropy`, the stable max(x,0) − x·z + log(1 + e^−|x|) form)
 *   + (λ_emb/2)·Σ‖E‖² over the trainable embedding tables + (λ_net/2)·Σ‖W‖² over the other trainable variables
 *   (whole tables, as FuxiCTR ≥ 2.0 does; the L2 terms enter as their exact gradients λ·W — see adam.ts);
 * - gradients clipped to global norm `maxGradNorm` (PyTorch `clip_grad_norm_`), then Adam as PyTorch computes it;
 * - evaluation on valid every epoch (or every N steps): AUC, logloss, gAUC by user_id; then the plateau schedule
 *   (`scheduleStep`: lr × 0.1, floor 1e-6, patience counter) and early stopping;
 * - the best weights (by the monitored metric) restored at the end.
 *
 * Determinism: the train order is a function of (seed, epoch), random ops (dropout) take their seeds from
 * (seed, step) through `nextOpSeed()`, and every update is computed in a fixed order, so the same model
 * initialisation, seed and backend give the same weights and metrics.
 * Checkpoints: after each evaluation `checkpoint/latest.ckpt` is rewritten atomically with everything the loop
 * depends on (weights incl. non-trainable state, Adam moments and step, lr, patience, best value and best weights,
 * the epoch and batch to continue from, the history), so `resume` continues exactly where the checkpoint was taken
 * and reaches the same result as an uninterrupted run.
 */
import * as tf from '@tensorflow/tfjs';
import type { InteractionSplit } from '../data/schema';
import { batchCount, iterateBatches, type Batch } from '../data/batches';
import type { CtrModel, ItemTable } from '../models/types';
import { MmctrError } from '../errors';
import { MetricError, evaluate, groupAuc } from '../eval/metrics';
import { predict } from '../eval/predict';
import { formatCount, formatDuration, progress, progressEnabled, type ProgressSink } from '../util/progress';
import { seedRandomOps } from '../util/opSeeds';
import { resolveTrainConfig, type TrainConfig } from './config';
import { Adam, type AdamMode } from './adam';
import { monitorValue, scheduleStep } from './schedule';
import { readCheckpoint, restoreVariables, snapshotVariables } from './checkpoint';
import { type EvalRecord, type RunInfo, type ValidMetrics, appendMetric, runPath, writeBestCheckpoint, writeJson, writeMetrics } from './runFolder';
import { lossAndGradients, type StepGradients } from './step';
import { trainingVariables } from './variables';
import { explainBackendError } from '../engine/memoryErrors';
import { type BestEvaluation, type StopReason, type TrainingCheckpointMeta, freshRun, resume, saveLatest } from './trainState';

export type { BestEvaluation, StopReason } from './trainState';

export interface TrainData {
  train: InteractionSplit;
  valid: InteractionSplit;
  /** The item table the model was built with (the model already holds it); only its size is recorded in config.json. */
  itemTable?: ItemTable;
}

export interface TrainOptions {
  /** Run folder (see runFolder.ts). Default: none — nothing is written and `resume` is impossible. */
  runDir?: string;
  /** Continue from `<runDir>/checkpoint/latest.ckpt`. Default false (a fresh run; an existing run folder is overwritten). */
  resume?: boolean;
  /** Recorded in config.json. Default {}. */
  info?: RunInfo;
  /** Aborting stops the run between two steps with `TrainingInterruptedError`; the last checkpoint stays. */
  signal?: AbortSignal;
  /** Called after each evaluation, once its checkpoint is written. */
  onEvaluation?: (record: EvalRecord) => void | Promise<void>;
  /** Progress bar and one line per evaluation. Default: on unless progress is globally off (`setProgressEnabled`). */
  progress?: boolean;
  /** Where progress goes. Default process.stderr. */
  stream?: ProgressSink;
  /** How Adam computes (see adam.ts). Default: 'typed' on cpu and wasm, 'tensor' elsewhere. */
  adamMode?: AdamMode;
}


export interface TrainResult {
  model: string;
  paramCount: number;
  backend: string;
  /** The evaluation whose weights the model holds now; null only if no evaluation ran. */
  best: BestEvaluation | null;
  history: EvalRecord[];
  /** Optimiser steps done. */
  steps: number;
  /** Epochs begun (an early stop inside an epoch counts it). */
  epochs: number;
  stopReason: StopReason;
  /** Seconds of training + evaluation over all sessions of the run. */
  seconds: number;
  /** Train rows per second over all optimiser steps. */
  samplesPerSecond: number;
  runDir: string | null;
}

/** Loss or gradient became NaN/Inf. The update of that step was not applied; the last checkpoint is untouched. */
export class TrainingDivergedError extends MmctrError {
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly loss: number,
    readonly gradNorm: number,
    checkpointNote: string,
  ) {
    super(`training diverged at epoch ${epoch}, step ${step}: loss = ${loss}, gradient norm = ${gradNorm}; ${checkpointNote}`);
  }
}

/** The run was aborted through `TrainOptions.signal`. */
export class TrainingInterruptedError extends MmctrError {}

/** Trains `model` in place and leaves it holding its best weights. */
export async function train(model: CtrModel, data: TrainData, config: Partial<TrainConfig> = {}, options: TrainOptions = {}): Promise<TrainResult> {
  const cfg = resolveTrainConfig(config);
  const runDir = options.runDir ?? null;
  if (options.resume && !runDir) throw new MmctrError('train: resume needs a runDir');
  if (!data.train.label) throw new MmctrError(`train: the ${data.train.split} split has no labels`);
  if (!data.valid.label) throw new MmctrError(`train: the ${data.valid.split} split has no labels`);
  const showProgress = options.progress ?? progressEnabled();
  const stream = options.stream ?? process.stderr;
  const log = (line: string) => {
    if (showProgress) stream.write(`${line}\n`);
  };

  const named = model.namedWeights();
  const { trainable, names: trainableNames, l2 } = trainingVariables(model, cfg);
  const adam = new Adam(trainable, trainableNames, cfg, options.adamMode);

  try {
    const state = options.resume ? resume(runDir!, model, cfg, named, adam) : freshRun(runDir, model, cfg, {
          ...options.info,
          trainRows: data.train.rows,
          validRows: data.valid.rows,
          ...(data.itemTable ? { itemTable: { rows: data.itemTable.emb.rows, dim: data.itemTable.emb.cols, tagVocab: data.itemTable.tagVocab } } : {}),
        });
    if (options.resume) {
      writeMetrics(runDir!, state.history);
      log(`resuming ${runDir} at epoch ${state.epoch + 1}, batch ${state.batch} (step ${state.step}${state.finished ? ', finished' : ''})`);
    }

    const stepsPerEpoch = batchCount(data.train.rows, cfg.batchSize, cfg.dropLast);
    if (stepsPerEpoch === 0) throw new MmctrError(`train: ${data.train.rows} train rows make no batch of ${cfg.batchSize} with dropLast`);
    const evalSteps = cfg.evalEvery === 'epoch' ? stepsPerEpoch : cfg.evalEvery.steps;
    const samplesPerEpoch = cfg.dropLast ? stepsPerEpoch * cfg.batchSize : data.train.rows;

    let period = { loss: 0, gradNorm: 0, steps: 0, samples: 0, trainSeconds: 0, start: performance.now() };
    const newPeriod = () => ({ loss: 0, gradNorm: 0, steps: 0, samples: 0, trainSeconds: 0, start: performance.now() });
    let lastEvalStep = state.step;

    const evaluateNow = async (epoch: number, nextPosition: { epoch: number; batch: number }): Promise<boolean> => {
      const t0 = performance.now();
      const valid = await validMetrics(model, data.valid, cfg.evalBatchSize);
      const evalSeconds = (performance.now() - t0) / 1000;
      const monitor = monitorValue(cfg.monitor, { auc: valid.auc, logloss: valid.logloss, gauc: valid.gauc ?? undefined });
      const usedLr = state.schedule.learningRate;
      const next = scheduleStep(state.schedule, monitor, cfg);
      state.schedule = next.state;
      const record: EvalRecord = {
        epoch: epoch + 1,
        step: state.step,
        trainLoss: period.steps ? period.loss / period.steps : NaN,
        gradNorm: period.steps ? period.gradNorm / period.steps : NaN,
        valid,
        monitor,
        improved: next.improved,
        learningRate: usedLr,
        nextLearningRate: next.state.learningRate,
        badEvaluations: next.state.badEvaluations,
        samplesPerSecond: period.trainSeconds > 0 ? period.samples / period.trainSeconds : 0,
        seconds: (performance.now() - period.start) / 1000,
        evalSeconds,
      };
      state.history.push(record);
      state.seconds += record.seconds;
      state.trainSeconds += period.trainSeconds;
      state.samples += period.samples;
      if (next.improved) {
        state.best = { epoch: epoch + 1, step: state.step, valid, monitor };
        state.bestWeights = await snapshotVariables(named);
        if (runDir) {
          writeBestCheckpoint(runDir, { format: 'mmctr-weights', version: 1, model: { name: model.name, config: model.config }, epoch: epoch + 1, step: state.step, valid }, state.bestWeights);
        }
      }
      if (next.stop) state.finished = 'earlyStop';
      state.epoch = nextPosition.epoch;
      state.batch = nextPosition.batch;
      if (runDir) {
        await saveLatest(runDir, model, cfg, state, named, adam);
        appendMetric(runDir, record);
      }
      lastEvalStep = state.step;
      period = newPeriod();
      log(describe(record, cfg.epochs, next.stop));
      await options.onEvaluation?.(record);
      return next.stop;
    };

    let stop = state.finished !== null;
    const resumeAt = { epoch: state.epoch, batch: state.batch };
    for (let epoch = resumeAt.epoch; epoch < cfg.epochs && !stop; epoch++) {
      const startBatch = epoch === resumeAt.epoch ? resumeAt.batch : 0;
      const bar = showProgress
        ? progress({
            // A getter: the progress line reads its label at each redraw, so the running loss and lr stay current.
            get label() {
              const loss = period.steps ? (period.loss / period.steps).toFixed(5) : '-';
              return `epoch ${epoch + 1}/${cfg.epochs}  loss ${loss}  lr ${state.schedule.learningRate.toExponential(1)}`;
            },
            total: samplesPerEpoch,
            unit: 'samples',
            stream,
            silent: false,
          })
        : null;
      bar?.update(Math.min(samplesPerEpoch, startBatch * cfg.batchSize));
      const batches = iterateBatches(data.train, { batchSize: cfg.batchSize, shuffle: cfg.shuffle, seed: cfg.seed, epoch, dropLast: cfg.dropLast, startBatch });
      for (const batch of batches) {
        if (options.signal?.aborted) {
          bar?.done('interrupted');
          throw new TrainingInterruptedError(`training interrupted at epoch ${epoch + 1}, step ${state.step}${runDir ? `; resume from ${runPath(runDir, 'latest')} (step ${lastEvalStep})` : ''}`);
        }
        const t0 = performance.now();
        const { loss, gradNorm } = await trainStep(batch, state.schedule.learningRate, epoch, state.step + 1);
        period.trainSeconds += (performance.now() - t0) / 1000;
        period.loss += loss;
        period.gradNorm += gradNorm;
        period.steps += 1;
        period.samples += batch.size;
        state.step += 1;
        state.epoch = epoch;
        state.batch = batch.index + 1;
        bar?.tick(batch.size);
        if (state.step % evalSteps === 0) {
          const last = batch.index + 1 === stepsPerEpoch;
          bar?.done();
          stop = await evaluateNow(epoch, last ? { epoch: epoch + 1, batch: 0 } : { epoch, batch: batch.index + 1 });
          if (stop) break;
        }
      }
      bar?.done();
    }
    // Steps after the last evaluation (evaluation every N steps that do not divide the run) still get evaluated.
    if (!stop && state.step > lastEvalStep) await evaluateNow(cfg.epochs - 1, { epoch: cfg.epochs, batch: 0 });
    if (state.finished === null) {
      state.finished = 'maxEpochs';
      // Saved with the last weights (not the best): a resume with more epochs continues from where training was.
      if (runDir) await saveLatest(runDir, model, cfg, state, named, adam);
    }
    if (state.bestWeights) restoreVariables(named, state.bestWeights, 'best weights');
    const result: TrainResult = {
      model: model.name,
      paramCount: model.paramCount(),
      backend: tf.getBackend(),
      best: state.best,
      history: state.history,
      steps: state.step,
      epochs: Math.min(cfg.epochs, state.batch > 0 ? state.epoch + 1 : state.epoch),
      stopReason: state.finished,
      seconds: state.seconds,
      samplesPerSecond: state.trainSeconds > 0 ? state.samples / state.trainSeconds : 0,
      runDir,
    };
    if (runDir) writeJson(runPath(runDir, 'result'), result);
    if (state.best) {
      const b = state.best.valid;
      log(`best: epoch ${state.best.epoch} (step ${state.best.step}) valid AUC ${b.auc.toFixed(6)} logloss ${b.logloss.toFixed(6)}${b.gauc !== null ? ` gAUC ${b.gauc.toFixed(6)}` : ''}; stopped: ${state.finished}`);
    }
    return result;
  } finally {
    adam.dispose();
  }

  /** One optimiser step. Returns the batch's BCE and the global gradient norm; refuses to apply a non-finite step. */
  async function trainStep(batch: Batch, learningRate: number, epoch: number, step: number): Promise<{ loss: number; gradNorm: number }> {
    // Dropout and other random ops draw their seeds from (seed, step): same masks in every run and after a resume.
    seedRandomOps(`${cfg.seed}/step/${step}`);
    let out: StepGradients;
    try {
      out = lossAndGradients(model, batch, trainable, trainableNames);
    } catch (err) {
      throw explainBackendError(err, `training step ${step} (epoch ${epoch + 1}, batch size ${batch.size})`);
    } finally {
      seedRandomOps(null);
    }
    try {
      const loss = (await out.loss.data())[0];
      const diverged = (gradNorm: number) => {
        if (Number.isFinite(loss) && Number.isFinite(gradNorm)) return;
        const note = runDir ? `the update was not applied; the last good checkpoint (step ${lastGoodStep()}) is ${runPath(runDir, 'latest')}` : 'the update was not applied; no run folder, nothing was saved';
        throw new TrainingDivergedError(epoch + 1, step, loss, gradNorm, note);
      };
      const gradNorm = await adam.apply(out.grads, { learningRate, l2, maxGradNorm: cfg.maxGradNorm, check: diverged });
      return { loss, gradNorm };
    } finally {
      tf.dispose([out.loss, ...out.grads]);
    }
  }

  function lastGoodStep(): number | string {
    try {
      return readCheckpoint<TrainingCheckpointMeta>(runPath(runDir!, 'latest')).meta.position.step;
    } catch {
      return 'none';
    }
  }
}

/** AUC, logloss and gAUC by user_id on valid. */
async function validMetrics(model: CtrModel, valid: InteractionSplit, batchSize: number): Promise<ValidMetrics> {
  return validMetricsOf(valid, await predict(model, valid, { batchSize }));
}

/** AUC, logloss and gAUC by user_id of predictions for a labelled split; gAUC null where no user holds both labels. */
export function validMetricsOf(valid: InteractionSplit, probs: Float32Array): ValidMetrics {
  const e = evaluate(valid.label!, probs);
  let gauc: number | null = null;
  try {
    gauc = groupAuc(valid.label!, probs, valid.userId).gauc;
  } catch (err) {
    if (!(err instanceof MetricError)) throw err;
  }
  return { auc: e.auc, logloss: e.logloss, gauc };
}

function describe(r: EvalRecord, epochs: number, stop: boolean): string {
  const g = r.valid.gauc !== null ? `  gAUC ${r.valid.gauc.toFixed(5)}` : '';
  const tail = r.improved ? '  [best]' : `  [no gain ${r.badEvaluations}${stop ? ', early stop' : ''}]`;
  return (
    `epoch ${r.epoch}/${epochs} step ${r.step}: train loss ${r.trainLoss.toFixed(5)}  valid AUC ${r.valid.auc.toFixed(5)}` +
    `  logloss ${r.valid.logloss.toFixed(5)}${g}  lr ${r.learningRate.toExponential(1)}  ${formatCount(r.samplesPerSecond)} samples/s` +
    `  ${formatDuration(r.seconds)}${tail}`
  );
}

