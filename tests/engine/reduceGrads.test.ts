/** The Sum / Mean gradients of src/engine/kernels/reduceGrads.ts: the same values as tfjs-core's, bit for bit. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedProjectKernels, registerProjectKernels, unregisterProjectKernels } from '../../src/engine/kernels';

const CASES: [string, (x: tf.Tensor) => tf.Tensor][] = [
  ['sum all', (x) => tf.sum(x)],
  ['sum axis 0', (x) => tf.sum(x, 0)],
  ['sum axis -1 keepDims', (x) => tf.sum(x, -1, true)],
  ['sum axes [0, 2]', (x) => tf.sum(x, [0, 2])],
  ['mean all', (x) => tf.mean(x)],
  ['mean axis 1', (x) => tf.mean(x, 1)],
  ['mean axes [1, 2] keepDims', (x) => tf.mean(x, [1, 2], true)],
  ['moments axis 0 (batch norm)', (x) => tf.add(tf.moments(x, 0).mean, tf.moments(x, 0).variance)],
];

/** Gradient of Σ f(x) ⊙ r w.r.t. x. */
function grad(f: (x: tf.Tensor) => tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 1);
    const g = tf.grad((v: tf.Tensor) => {
      const y = f(v);
      return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 2)));
    })(x);
    return Float32Array.from(g.dataSync());
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => registerProjectKernels());

describe('Sum and Mean gradients', () => {
  it.each(CASES)('%s: equal to tfjs-core\'s', (_label, f) => {
    unregisterProjectKernels();
    const ref = grad(f);
    registerProjectKernels();
    expect(installedProjectKernels()).toEqual(expect.arrayContaining(['grad/Sum', 'grad/Mean']));
    expect(Array.from(grad(f))).toEqual(Array.from(ref));
  });
});
