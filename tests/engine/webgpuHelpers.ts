/** Shared by the webgpu tests: the suite set-up, backend switching, the error measure and the fused-pass reference. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect } from 'vitest';
import { selectBackend } from '../../src/engine/backend';
import { webGpuErrors } from '../../src/engine/webgpu';
import type { CtrModel, ModelInputs } from '../../src/models';
import { DinAttention } from '../../src/models/layers';
import { seedRandomOps } from '../../src/util/opSeeds';

/**
 * Inside a `describe`: starts the project's webgpu backend (lavapipe without a GPU) with its uncaptured errors
 * collected, leaves `cpu` active between tests (each test switches with `onBackend`), and checks at the end that
 * no uncaptured WebGPU error happened.
 */
export function useWebGpuSuite(): void {
  beforeAll(async () => {
    await selectBackend({ quiet: true, force: 'webgpu' });
    webGpuErrors(true);
    await tf.setBackend('cpu');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
    expect(webGpuErrors()).toEqual([]);
  });
}

/**
 * Normwise relative error ‖a − b‖∞ / max(‖b‖∞, floor) (all-zero `b` and floor 0: absolute). Elementwise relative
 * errors blow up on entries that are zero up to rounding (sums that cancel), which says nothing about the kernel.
 */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = d; // NaN propagates
    scale = Math.max(scale, Math.abs(b[i]));
  }
  scale = Math.max(scale, floor);
  return scale > 0 ? diff / scale : diff;
}

/** Runs `f` with `backend` active, then switches back. */
export async function onBackend<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return await f();
  } finally {
    await tf.setBackend(before);
  }
}

/** What one training-mode forward + backward of a model gives, read back to the host. */
export interface TrainingPass {
  logits: Float32Array;
  loss: number;
  /** Gradient of every trainable weight, by key. */
  grads: Map<string, Float32Array>;
  /** Non-trainable weights (running statistics) after the pass, by key. */
  state: Map<string, Float32Array>;
}

/**
 * One training-mode forward + backward of `model` on `x` (BCE against `labels`) with the op seeds of `opSeed` (the
 * dropout masks), read back. The caller disposes `x`.
 */
export async function trainingPass(model: CtrModel, x: ModelInputs, labels: ArrayLike<number>, opSeed: string): Promise<TrainingPass> {
  const all = [...model.namedWeights()];
  const named = all.filter(([, v]) => v.trainable);
  let logits: tf.Tensor | undefined;
  seedRandomOps(opSeed);
  const { value, grads } = tf.variableGrads(() => {
    const y = model.call(x, true);
    logits = tf.keep(y.clone());
    return tf.losses.sigmoidCrossEntropy(tf.tensor1d(Array.from(labels)), y) as tf.Scalar;
  }, named.map(([, v]) => v));
  seedRandomOps(null);
  const out: TrainingPass = {
    logits: (await logits!.data()) as Float32Array,
    loss: (await value.data())[0],
    grads: new Map(await Promise.all(named.map(async ([k, v]) => [k, (await grads[v.name].data()) as Float32Array] as const))),
    state: new Map(await Promise.all(all.filter(([, v]) => !v.trainable).map(async ([k, v]) => [k, (await v.data()) as Float32Array] as const))),
  };
  tf.dispose([value, logits!, ...Object.values(grads)]);
  return out;
}

/**
 * The reference of a fused-op test: `make()` built on cpu, run through `run` with the attention in its full layout
 * (the cpu attention otherwise runs its MLP on the valid positions only, which numbers the dropout masks
 * differently from the fused block), and its weights by key, for `withWeights` to copy into the model under test.
 */
export async function cpuReference<P>(make: () => CtrModel, run: (model: CtrModel) => Promise<P>): Promise<{ result: P; weights: Map<string, Float32Array> }> {
  return onBackend('cpu', async () => {
    const ref = make();
    const weights = new Map([...ref.namedWeights()].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
    const compact = DinAttention.compactPadding;
    DinAttention.compactPadding = false;
    try {
      return { result: await run(ref), weights };
    } finally {
      DinAttention.compactPadding = compact;
      ref.dispose();
    }
  });
}

/** `model` with every weight set to the reference's (by key). */
export function withWeights(model: CtrModel, weights: Map<string, Float32Array>): CtrModel {
  for (const [key, v] of model.namedWeights()) v.assign(tf.tensor(weights.get(key)!, v.shape, v.dtype));
  return model;
}
