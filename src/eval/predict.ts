/**
 * Batched prediction with bounded memory: the split is walked in file order, one batch of tensors at a time, and
 * each batch's probabilities are copied into one preallocated Float32Array [rows]. At most one batch's tensors are
 * alive at any moment, so a 379,142-row test costs one batch of device memory plus 1.5 MB of output.
 */
import * as tf from '@tensorflow/tfjs';
import type { InteractionSplit } from '../data/schema';
import { iterateBatches } from '../data/batches';
import type { CtrModel } from '../models/types';
import { batchInputs } from '../train/tensors';
import { MmctrError } from '../errors';
import { progress } from '../util/progress';
import { explainBackendError } from '../engine/memoryErrors';

export interface PredictOptions {
  /** Rows per forward pass. Default 2048 (dinBaseline overflows the wasm heap at 4096). */
  batchSize?: number;
  /** Show a progress bar (stderr). Default false. */
  progress?: boolean;
}

export class PredictionError extends MmctrError {}

/** Click probabilities σ(logit) for every row of `split`, in row order (inference mode: no dropout, BN running stats). */
export async function predict(model: CtrModel, split: InteractionSplit, options: PredictOptions = {}): Promise<Float32Array> {
  const batchSize = options.batchSize ?? 2048;
  const out = new Float32Array(split.rows);
  const bar = options.progress ? progress({ label: `predict ${split.split}`, total: split.rows, unit: 'rows' }) : null;
  let offset = 0;
  for (const batch of iterateBatches(split, { batchSize })) {
    let probs: tf.Tensor;
    try {
      probs = tf.tidy(() => {
        const logits = model.call(batchInputs(batch), false); // [size]
        if (logits.shape.length !== 1 || logits.shape[0] !== batch.size) {
          throw new PredictionError(`model ${model.name} returned logits of shape [${logits.shape}] for a batch of ${batch.size} rows; expected [${batch.size}]`);
        }
        return tf.sigmoid(logits);
      });
    } catch (err) {
      throw explainBackendError(err, `predicting ${split.split} rows ${offset}..${offset + batch.size - 1} (batch size ${batch.size})`);
    }
    try {
      out.set((await probs.data()) as Float32Array, offset);
    } finally {
      probs.dispose();
    }
    offset += batch.size;
    bar?.tick(batch.size);
  }
  bar?.done();
  return out;
}
