import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Dice } from '../../../src/models/layers';
import { type LayerCase, checkLayer, useCpu } from './layerCheck';
import { arr, expectClose, sigmoid, transpose } from './jsRef';

const cases: LayerCase[] = [
  { label: '[4, 3]', make: () => new Dice(), inputs: () => [tf.randomNormal([4, 3], 0, 1, "float32", 7)], single: true },
  { label: '[2, 3, 4] (units on the last axis)', make: () => new Dice({ epsilon: 1e-5, momentum: 0.1 }), inputs: () => [tf.randomNormal([2, 3, 4], 0, 1, "float32", 7)], single: true },
];

beforeAll(useCpu);

describe('Dice: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

describe('Dice numerics', () => {
  const x = [[1, -2], [3, 0], [2, 4]];
  const alpha = [0.5, -0.25];

  /** Dice by hand: p = σ((x − m)/√(v + eps)), out = p·x + α(1 − p)·x. */
  function dice(m: number[], v: number[], eps = 1e-9): number[][] {
    return x.map((row) =>
      row.map((xi, j) => {
        const p = sigmoid((xi - m[j]) / Math.sqrt(v[j] + eps));
        return p * xi + alpha[j] * (1 - p) * xi;
      }),
    );
  }

  function makeLayer(runningMean: number[], runningVar: number[]): Dice {
    const layer = new Dice();
    layer.apply(tf.zeros([1, 2])); // builds: weights are [alpha, running_mean, running_var]
    layer.setWeights([tf.tensor1d(alpha), tf.tensor1d(runningMean), tf.tensor1d(runningVar)]);
    return layer;
  }

  it('training: normalises with the batch statistics and updates running = 0.99·running + 0.01·batch', () => {
    const layer = makeLayer([0, 0], [1, 1]);
    const cols = transpose(x);
    const m = cols.map((c) => c.reduce((s, v) => s + v, 0) / c.length); // [2, 2/3]
    const biased = cols.map((c, j) => c.reduce((s, v) => s + (v - m[j]) ** 2, 0) / c.length);
    const unbiased = biased.map((v) => (v * 3) / 2);
    const out = layer.apply(tf.tensor2d(x), { training: true }) as tf.Tensor;
    expectClose(arr(out), dice(m, biased));
    const [, runMean, runVar] = layer.getWeights().map((w) => Array.from(w.dataSync()));
    expectClose(runMean, m.map((v) => 0.01 * v));
    expectClose(runVar, unbiased.map((v) => 0.99 + 0.01 * v));
  });

  it('inference: uses the running statistics and leaves them unchanged', () => {
    const runningMean = [0.5, -1];
    const runningVar = [2, 0.25];
    const layer = makeLayer(runningMean, runningVar);
    const out = layer.apply(tf.tensor2d(x)) as tf.Tensor;
    expectClose(arr(out), dice(runningMean, runningVar));
    const [, m, v] = layer.getWeights().map((w) => Array.from(w.dataSync()));
    expect(m).toEqual(runningMean);
    expect(v).toEqual(runningVar);
    const train = arr(layer.apply(tf.tensor2d(x), { training: true }) as tf.Tensor);
    expect(train).not.toEqual(arr(out));
  });

  it('with α = 0 (its init) is p·x', () => {
    const layer = new Dice();
    const out = arr(layer.apply(tf.tensor2d([[2, -3]])) as tf.Tensor); // running mean 0, var 1
    expectClose(out, [[sigmoid(2) * 2, sigmoid(-3) * -3]], 1e-6);
  });
});
