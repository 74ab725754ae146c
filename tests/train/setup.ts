/** Shared set-up of the trainer tests (also used by the SIGKILL worker, which runs in its own process). */
import * as tf from '@tensorflow/tfjs';
import { registerProjectKernels } from '../../src/engine/kernels';
import { setProgressEnabled } from '../../src/util/progress';
import type { TrainConfig } from '../../src/train/config';
import type { InteractionSplit } from '../../src/data/schema';
import type { EvalRecord } from '../../src/train/runFolder';
import { plantedSplit } from './plantedData';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  registerProjectKernels();
  setProgressEnabled(false);
}

export const NUM_ITEMS = 41; // ids 0..40
/** 3,000 rows at batch 128: 24 steps per epoch. */
export const STEPS_PER_EPOCH = 24;

export function plantedData(): { train: InteractionSplit; valid: InteractionSplit } {
  return { train: plantedSplit({ rows: 3000, seed: 1 }), valid: plantedSplit({ rows: 1000, seed: 2, split: 'valid' }) };
}

export const BASE_CONFIG: Partial<TrainConfig> = { batchSize: 128, learningRate: 1e-2, seed: 5, epochs: 3 };

/** A record without its timings (what must be identical between runs). */
export function withoutTimings(r: EvalRecord): Omit<EvalRecord, 'seconds' | 'evalSeconds' | 'samplesPerSecond'> {
  const { seconds: _s, evalSeconds: _e, samplesPerSecond: _p, ...rest } = r;
  return rest;
}
