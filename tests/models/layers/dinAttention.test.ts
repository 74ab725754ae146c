import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DinAttention, type DinAttentionArgs } from '../../../src/models/layers';
import { type LayerCase, checkLayer, randomizeWeights, useCpu } from './layerCheck';
import { type Mat, type Vec, add, arr, expectClose, matVec, mul, relu, scale, softmax, sub } from './jsRef';

const BATCH = 3;
const SEQ = 4;
const DIM = 5;
const MASK = [[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 1, 1]]; // row 1 fully padded
const inputs = () => [tf.randomNormal([BATCH, DIM], 0, 1, "float32", 7), tf.randomNormal([BATCH, SEQ, DIM], 0, 1, "float32", 7), tf.tensor2d(MASK)];

const cases: LayerCase[] = [
  { label: 'relu [6, 4], dropout 0.1 (baseline shape)', make: () => new DinAttention({ attentionUnits: [6, 4], seed: 1 }), inputs },
  { label: 'dice + batch norm + softmax', make: () => new DinAttention({ attentionUnits: [6, 4], activation: 'dice', batchNorm: true, useSoftmax: true, seed: 2 }), inputs },
  { label: 'no hidden layer (Linear 4·dim → 1)', make: () => new DinAttention({ attentionUnits: [], dropoutRate: 0 }), inputs },
  { label: 'no mask', make: () => new DinAttention({ attentionUnits: [3], seed: 3 }), inputs: () => inputs().slice(0, 2) },
  { label: 'bool mask', make: () => new DinAttention({ attentionUnits: [3], useSoftmax: true, seed: 4 }), inputs: () => [...inputs().slice(0, 2), tf.tensor2d(MASK, undefined, 'bool')] },
];

beforeAll(useCpu);

describe('DinAttention: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

/**
 * The naive formulation, in plain JS: the MLP over the concatenation [t, h, t − h, t ⊙ h] (FuxiCTR's code path),
 * ReLU hidden layers, then w · mask (and the masked softmax), pooled = Σ w·h.
 */
function naiveDin(
  target: Mat,
  history: Mat[],
  mask: Mat,
  weights: (Mat | Vec)[], // kernel, bias per hidden layer, then output kernel, bias
  useSoftmax: boolean,
): Mat {
  return target.map((t, b) => {
    let scores = history[b].map((h) => {
      let a: Vec = [...t, ...h, ...sub(t, h), ...mul(t, h)]; // the concat, [4·dim]
      for (let i = 0; i + 2 < weights.length; i += 2) a = relu(add(matVec(a, weights[i] as Mat), weights[i + 1] as Vec));
      const n = weights.length;
      return add(matVec(a, weights[n - 2] as Mat), weights[n - 1] as Vec)[0];
    });
    scores = scores.map((s, j) => s * mask[b][j]);
    if (useSoftmax) {
      scores = softmax(scores.map((s, j) => (mask[b][j] > 0 ? s : -1e9))).map((p, j) => p * mask[b][j]);
    }
    return history[b].reduce((acc, h, j) => add(acc, scale(h, scores[j])), new Array(t.length).fill(0));
  });
}

function setup(args: DinAttentionArgs) {
  const layer = new DinAttention({ dropoutRate: 0, ...args });
  const [t, h, m] = inputs();
  layer.apply([t, h, m]);
  randomizeWeights(layer, 3);
  return { layer, t, h, m };
}

describe('DinAttention numerics', () => {
  for (const useSoftmax of [false, true]) {
    it(`split first layer equals the naive concat formulation (useSoftmax=${useSoftmax})`, () => {
      const { layer, t, h, m } = setup({ attentionUnits: [6, 4], useSoftmax });
      const weights = layer.getWeights().map((w) => w.arraySync() as Mat | Vec);
      const out = arr(layer.apply([t, h, m]) as tf.Tensor);
      expectClose(out, naiveDin(arr(t), arr<Mat[]>(h), MASK, weights, useSoftmax), 1e-4);
      expect(out[1]).toEqual(new Array(DIM).fill(0)); // fully padded row: zeros, not NaN
    });
  }

  it('equals the naive formulation without hidden layers too', () => {
    const { layer, t, h, m } = setup({ attentionUnits: [] });
    const weights = layer.getWeights().map((w) => w.arraySync() as Mat | Vec);
    expectClose(arr(layer.apply([t, h, m]) as tf.Tensor), naiveDin(arr(t), arr<Mat[]>(h), MASK, weights, false), 1e-4);
  });

  it('keeps the kernel in the concatenated [4·dim, units] layout', () => {
    const { layer } = setup({ attentionUnits: [6, 4] });
    expect(layer.getWeights()[0].shape).toEqual([4 * DIM, 6]);
  });

  for (const useSoftmax of [false, true]) {
    it(`mask polarity: what sits at a padded position never changes the output (useSoftmax=${useSoftmax})`, () => {
      const { layer, t, h, m } = setup({ attentionUnits: [6, 4], useSoftmax });
      const base = arr(layer.apply([t, h, m]) as tf.Tensor);
      const padded = tf.expandDims(tf.sub(1, m), -1); // 1 at padded positions
      const changed = tf.add(h, tf.mul(padded, tf.randomNormal(h.shape, 0, 10, 'float32', 5)));
      expect(arr(layer.apply([t, changed, m]) as tf.Tensor)).toEqual(base);
      const valid = tf.expandDims(m, -1);
      const changedValid = tf.add(h, tf.mul(valid, tf.randomNormal(h.shape, 0, 1, 'float32', 6)));
      const moved = arr(layer.apply([t, changedValid, m]) as tf.Tensor);
      expect(moved[0]).not.toEqual(base[0]);
      expect(moved[2]).not.toEqual(base[2]);
      const inverted = arr(layer.apply([t, h, tf.sub(1, m)]) as tf.Tensor);
      expect(inverted[0]).not.toEqual(base[0]);
    });
  }

  it('dropout only in training', () => {
    const { layer, t, h, m } = setup({ attentionUnits: [64, 32], dropoutRate: 0.5 });
    const a = arr(layer.apply([t, h, m]) as tf.Tensor);
    expect(arr(layer.apply([t, h, m]) as tf.Tensor)).toEqual(a);
    const weights = layer.getWeights().map((w) => w.arraySync() as Mat | Vec);
    expectClose(a, naiveDin(arr(t), arr<Mat[]>(h), MASK, weights, false), 1e-4);
    expect(arr(layer.apply([t, h, m], { training: true }) as tf.Tensor)).not.toEqual(a);
  });
});

describe('DinAttention: padded positions skipped (compactPadding)', () => {
  /** Value and gradients (weights, target, history) of Σ out ⊙ R, in training mode, with the switch set. */
  function valueAndGrads(layer: DinAttention, t: tf.Tensor, h: tf.Tensor, m: tf.Tensor, compact: boolean): Float32Array[] {
    const saved = DinAttention.compactPadding;
    DinAttention.compactPadding = compact;
    try {
      return tf.tidy(() => {
        const r = tf.randomNormal([BATCH, DIM], 0, 1, 'float32', 11);
        const tv = tf.variable(t, true, `t${compact}${Math.random()}`);
        const hv = tf.variable(h, true, `h${compact}${Math.random()}`);
        const vars = [...layer.trainableWeights.map((w) => w.read() as tf.Variable), tv, hv];
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(layer.apply([tv, hv, m], { training: true }) as tf.Tensor, r)) as tf.Scalar,
          vars,
        );
        const out = [value, ...vars.map((v) => grads[v.name])].map((x) => Float32Array.from(x.dataSync()));
        tv.dispose();
        hv.dispose();
        return out;
      });
    } finally {
      DinAttention.compactPadding = saved;
    }
  }

  for (const args of [
    { attentionUnits: [6, 4] },
    { attentionUnits: [6, 4], useSoftmax: true, activation: 'prelu' as const },
    { attentionUnits: [] },
  ]) {
    it(`same value and gradients as the MLP over every position (${JSON.stringify(args)})`, () => {
      const { layer, t, h, m } = setup(args);
      const dense = valueAndGrads(layer, t, h, m, false);
      const compact = valueAndGrads(layer, t, h, m, true);
      expect(compact.length).toBe(dense.length);
      compact.forEach((c, i) => expectClose(Array.from(c), Array.from(dense[i]), 1e-5));
      // The padded positions of the history get exactly zero gradient either way.
      const gh = compact[compact.length - 1];
      MASK.forEach((row, b) => row.forEach((v, j) => {
        if (v === 0) for (let d = 0; d < DIM; d++) expect(gh[(b * SEQ + j) * DIM + d]).toBe(0);
      }));
    });
  }

  it('runs the MLP on the valid rows only (5 of 12 positions), and on all of them when switched off', async () => {
    const { layer, t, h, m } = setup({ attentionUnits: [6, 4] });
    const saved = DinAttention.compactPadding;
    const firstDims: number[][] = [];
    try {
      for (const compact of [true, false]) {
        DinAttention.compactPadding = compact;
        const prof = await tf.profile(() => layer.apply([t, h, m], { training: true }) as tf.Tensor);
        firstDims.push(prof.kernels.filter((k) => k.name === 'BatchMatMul').map((k) => k.inputShapes[0].slice(-2)[0]));
      }
    } finally {
      DinAttention.compactPadding = saved;
    }
    expect(Math.max(...firstDims[0].filter((r) => r !== BATCH && r !== 1))).toBe(5);
    expect(firstDims[1]).toContain(BATCH * SEQ);
    expect(firstDims[0]).not.toContain(BATCH * SEQ);
  });
});
