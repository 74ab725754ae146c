/**
 * FuxiCTR's `checkpoint_and_earlystop` + `lr_decay`, as a pure function of the schedule state: after each
 * evaluation, a gain of at least `minDelta` on the monitored metric makes it the new best and resets the counter;
 * otherwise the counter grows by one and (with `reduceLrOnPlateau`) lr ← max(lr · factor, minLr). The run stops
 * when the counter reaches `patience`.
 */
import type { Evaluation } from '../eval/metrics';
import type { Monitor, TrainConfig } from './config';

/** The part of the trainer's state the schedule owns (saved in checkpoints). */
export interface ScheduleState {
  learningRate: number;
  /** Best monitored value so far; -Infinity before the first evaluation. */
  best: number;
  /** Evaluations in a row without gain. */
  badEvaluations: number;
}

export interface ScheduleStep {
  state: ScheduleState;
  /** The evaluation set a new best. */
  improved: boolean;
  /** Patience is used up. */
  stop: boolean;
}

/** The monitored value of an evaluation (higher is better). gAUC falls back to AUC when it is undefined. */
export function monitorValue(monitor: Monitor, e: Pick<Evaluation, 'auc' | 'logloss' | 'gauc'>): number {
  switch (monitor) {
    case 'auc':
      return e.auc;
    case 'gauc':
      return e.gauc ?? e.auc;
    case 'aucMinusLogloss':
      return e.auc - e.logloss;
    default: {
      const never: never = monitor;
      return never;
    }
  }
}

export function initialSchedule(config: Pick<TrainConfig, 'learningRate'>): ScheduleState {
  return { learningRate: config.learningRate, best: -Infinity, badEvaluations: 0 };
}

export function scheduleStep(
  state: ScheduleState,
  value: number,
  config: Pick<TrainConfig, 'minDelta' | 'patience' | 'reduceLrOnPlateau' | 'lrDecayFactor' | 'minLearningRate'>,
): ScheduleStep {
  // NaN never improves (a diverged evaluation must not become the best).
  if (value >= state.best + config.minDelta) {
    return { state: { ...state, best: value, badEvaluations: 0 }, improved: true, stop: false };
  }
  const learningRate = config.reduceLrOnPlateau
    ? Math.max(state.learningRate * config.lrDecayFactor, config.minLearningRate)
    : state.learningRate;
  const badEvaluations = state.badEvaluations + 1;
  return { state: { ...state, learningRate, badEvaluations }, improved: false, stop: badEvaluations >= config.patience };
}
