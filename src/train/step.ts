/**
 * The forward and backward pass of one training step: mean BCE on logits and its gradients. The L2 terms, the
 * global norm, clipping and the update are the optimiser's (`Adam.apply`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/batches';
import type { CtrModel } from '../models/types';
import { MmctrError } from '../errors';
import { webGpuSigmoidCrossEntropy } from '../engine/kernels/webgpu/bceLoss';
import { batchInputs, batchLabels } from './tensors';

/** What `lossAndGradients` returns; the caller disposes `loss` and `grads`. */
export interface StepGradients {
  /** Mean BCE of the batch (scalar). */
  loss: tf.Scalar;
  /** ∂BCE/∂W_i, in the order of `vars`. */
  grads: tf.Tensor[];
}

/** BCE (stable form max(x, 0) − x·z + log(1 + e^−|x|), mean over the batch) of a training-mode forward pass. */
export function lossAndGradients(model: CtrModel, batch: Batch, vars: tf.Variable[], names: string[] = vars.map((v) => v.name)): StepGradients {
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.call(batchInputs(batch), true); // [size]
    if (logits.shape.length !== 1 || logits.shape[0] !== batch.size) {
      throw new MmctrError(`model ${model.name} returned logits of shape [${logits.shape}] for a batch of ${batch.size} rows; expected [${batch.size}]`);
    }
    // On webgpu one fused kernel (forward and gradient) instead of ~20 element-wise dispatches; same formula.
    return tf.getBackend() === 'webgpu'
      ? webGpuSigmoidCrossEntropy(batchLabels(batch), logits)
      : (tf.losses.sigmoidCrossEntropy(batchLabels(batch), logits) as tf.Scalar);
  }, vars);
  const ordered = vars.map((v) => grads[v.name]);
  const missing = ordered.findIndex((g) => g === undefined);
  if (missing >= 0) {
    tf.dispose([value, ...Object.values(grads)]);
    throw new MmctrError(`train: no gradient reaches ${names[missing]} (is it used by call()?)`);
  }
  return { loss: value, grads: ordered };
}
