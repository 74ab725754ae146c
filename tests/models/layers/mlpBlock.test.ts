import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerConfigError, MlpBlock } from '../../../src/models/layers';
import { type LayerCase, checkLayer, useCpu } from './layerCheck';
import { add, arr, expectClose, matVec, relu, sigmoid, transpose } from './jsRef';

const x = () => [tf.randomNormal([5, 6], 0, 1, "float32", 7)];
const cases: LayerCase[] = [
  { label: 'relu [4, 3]', make: () => new MlpBlock({ hiddenUnits: [4, 3], seed: 1 }), inputs: x, single: true },
  {
    label: 'dice + batch norm + dropout → 1 sigmoid',
    make: () => new MlpBlock({ hiddenUnits: [4, 3], activation: 'dice', batchNorm: true, dropoutRate: 0.2, outputDim: 1, outputActivation: 'sigmoid', seed: 2 }),
    inputs: x,
    single: true,
  },
  {
    label: 'per-layer activations prelu / gelu / tanh, per-layer dropout',
    make: () => new MlpBlock({ hiddenUnits: [4, 3, 2], activation: ['prelu', 'gelu', 'tanh'], dropoutRate: [0, 0.1, 0.3], outputDim: 2 }),
    inputs: x,
    single: true,
  },
  { label: 'no hidden layer, output only', make: () => new MlpBlock({ outputDim: 3, seed: 4 }), inputs: x, single: true },
  { label: '3-D input [2, 3, 6], sigmoid + linear', make: () => new MlpBlock({ hiddenUnits: [4, 2], activation: ['sigmoid', 'linear'], batchNorm: true, seed: 5 }), inputs: () => [tf.randomNormal([2, 3, 6], 0, 1, "float32", 7)], single: true },
];

beforeAll(useCpu);

describe('MlpBlock: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

describe('MlpBlock numerics', () => {
  const input = [[1, 2], [-1, 0.5], [3, -2]];
  const w1 = [[0.5, -1], [0.25, 2]];
  const b1 = [0.1, -0.2];
  const wOut = [[1.5], [-0.5]];
  const bOut = [0.3];

  it('Linear → ReLU → Linear → sigmoid', () => {
    const layer = new MlpBlock({ hiddenUnits: [2], outputDim: 1, outputActivation: 'sigmoid' });
    layer.apply(tf.zeros([1, 2]));
    layer.setWeights([tf.tensor2d(w1), tf.tensor1d(b1), tf.tensor2d(wOut), tf.tensor1d(bOut)]);
    const expected = input.map((row) => [sigmoid(add(matVec(relu(add(matVec(row, w1), b1)), wOut), bOut)[0])]);
    expectClose(arr(layer.apply(tf.tensor2d(input)) as tf.Tensor), expected);
  });

  it('batch norm: batch statistics in training (running updated with momentum 0.1), running ones at inference', () => {
    const layer = new MlpBlock({ hiddenUnits: [2], batchNorm: true });
    layer.apply(tf.zeros([1, 2]));
    const gamma = [2, 0.5];
    const beta = [0.1, -0.3];
    // weights: kernel, bias, gamma, beta (trainable), then running mean, running var
    layer.setWeights([tf.tensor2d(w1), tf.tensor1d(b1), tf.tensor1d(gamma), tf.tensor1d(beta), tf.tensor1d([0, 0]), tf.tensor1d([1, 1])]);
    const z = input.map((row) => add(matVec(row, w1), b1));
    const cols = transpose(z);
    const m = cols.map((c) => c.reduce((s, v) => s + v, 0) / c.length);
    const v = cols.map((c, j) => c.reduce((s, u) => s + (u - m[j]) ** 2, 0) / c.length);
    const bn = (mean: number[], variance: number[]) =>
      z.map((row) => relu(row.map((u, j) => ((u - mean[j]) / Math.sqrt(variance[j] + 1e-5)) * gamma[j] + beta[j])));
    expectClose(arr(layer.apply(tf.tensor2d(input), { training: true }) as tf.Tensor), bn(m, v), 1e-4);
    const runMean = m.map((u) => 0.1 * u);
    const runVar = v.map((u) => 0.9 + 0.1 * ((u * 3) / 2));
    const stats = layer.getWeights().slice(4).map((w) => Array.from(w.dataSync()));
    expectClose(stats, [runMean, runVar]);
    expectClose(arr(layer.apply(tf.tensor2d(input)) as tf.Tensor), bn(runMean, runVar), 1e-4);
  });

  it('PReLU per unit, α initialised to 0.1', () => {
    const layer = new MlpBlock({ hiddenUnits: [2], activation: 'prelu' });
    layer.apply(tf.zeros([1, 2]));
    const weights = layer.getWeights();
    expect(Array.from(weights[2].dataSync())).toEqual([0.1, 0.1].map(Math.fround));
    layer.setWeights([tf.tensor2d(w1), tf.tensor1d(b1), tf.tensor1d([0.1, 0.3])]);
    const expected = input.map((row) => add(matVec(row, w1), b1).map((u, j) => (u > 0 ? u : [0.1, 0.3][j] * u)));
    expectClose(arr(layer.apply(tf.tensor2d(input)) as tf.Tensor), expected);
  });

  it('dropout only in training: inference is deterministic and equals the dropout-free block', () => {
    const withDropout = new MlpBlock({ hiddenUnits: [200], activation: 'linear', dropoutRate: 0.5, seed: 7 });
    const without = new MlpBlock({ hiddenUnits: [200], activation: 'linear', seed: 8 });
    const data = tf.randomNormal([4, 3], 0, 1, 'float32', 1);
    withDropout.apply(data);
    without.apply(data);
    without.setWeights(withDropout.getWeights());
    const inference = arr(withDropout.apply(data) as tf.Tensor);
    expect(arr(withDropout.apply(data) as tf.Tensor)).toEqual(inference);
    expect(arr(without.apply(data) as tf.Tensor)).toEqual(inference);
    const training = arr(withDropout.apply(data, { training: true }) as tf.Tensor).flat();
    const flat = inference.flat();
    const zeros = training.filter((v) => v === 0).length;
    expect(zeros / training.length).toBeGreaterThan(0.35);
    expect(zeros / training.length).toBeLessThan(0.65);
    training.forEach((v, i) => {
      if (v !== 0) expect(v).toBeCloseTo(2 * flat[i], 4); // inverted dropout: kept units scaled by 1/(1 − 0.5)
    });
  });

  it('initialises kernels Xavier-normal and biases zero', () => {
    const layer = new MlpBlock({ hiddenUnits: [300], seed: 3 });
    layer.apply(tf.zeros([1, 100]));
    const [kernel, bias] = layer.getWeights();
    const k = Array.from(kernel.dataSync());
    const sd = Math.sqrt(k.reduce((s, v) => s + v * v, 0) / k.length);
    expect(Math.abs(sd / Math.sqrt(2 / 400) - 1)).toBeLessThan(0.05);
    expect(Array.from(bias.dataSync()).every((v) => v === 0)).toBe(true);
  });

  it('rejects a per-layer list of the wrong length and unknown activations', () => {
    expect(() => new MlpBlock({ hiddenUnits: [2, 2], activation: ['relu'] })).toThrow(LayerConfigError);
    expect(() => new MlpBlock({ hiddenUnits: [2], activation: 'swish' as never })).toThrow(LayerConfigError);
  });
});
