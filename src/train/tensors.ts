/**
 * Batch (typed arrays) → `ModelInputs` (int32 tensors) and the label tensor.
 *
 * tfjs's `cpu` and `webgpu` backends keep a reference to the typed array a tensor is made from instead of copying
 * it, while batches reuse their buffers: those backends get a copy. `wasm` and tfjs-node copy into their own
 * memory already, so they get the batch's arrays directly.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/batches';
import type { ModelInputs } from '../models/types';
import { MmctrError } from '../errors';

/** Backends known to copy a typed array when a tensor is made from it. */
const COPYING_BACKENDS = new Set(['wasm', 'tensorflow']);

function own<T extends Int32Array | Float32Array>(a: T): T {
  return COPYING_BACKENDS.has(tf.getBackend()) ? a : (a.slice() as T);
}

/** The model's inputs for a batch. The caller disposes them (or creates them inside a `tidy`). */
export function batchInputs(batch: Batch): ModelInputs {
  const n = batch.size;
  return {
    itemId: tf.tensor1d(own(batch.itemId), 'int32'),
    likesLevel: tf.tensor1d(own(batch.likesLevel), 'int32'),
    viewsLevel: tf.tensor1d(own(batch.viewsLevel), 'int32'),
    itemSeq: tf.tensor2d(own(batch.itemSeq), [n, batch.seqLen], 'int32'),
  };
}

/** Labels [size] float32 (0/1). Throws on a split without labels. */
export function batchLabels(batch: Batch): tf.Tensor1D {
  if (!batch.label) throw new MmctrError(`batch ${batch.index} has no labels (a test split without label cannot be trained on)`);
  return tf.tensor1d(own(batch.label), 'float32');
}

/** Disposes every tensor of a `ModelInputs`. */
export function disposeInputs(inputs: ModelInputs): void {
  tf.dispose([inputs.itemId, inputs.likesLevel, inputs.viewsLevel, inputs.itemSeq]);
}
