import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerConfigError, MultiHeadTargetAttention, type MultiHeadTargetAttentionArgs } from '../../../src/models/layers';
import { type LayerCase, checkLayer, randomizeWeights, useCpu } from './layerCheck';
import { type Mat, type Vec, add, arr, dot, expectClose, matVec, scale, softmax } from './jsRef';

const BATCH = 3;
const SEQ = 4;
const DIM = 6;
const MASK = [[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]]; // row 1 fully padded
const inputs = () => [tf.randomNormal([BATCH, DIM], 0, 1, "float32", 7), tf.randomNormal([BATCH, SEQ, DIM], 0, 1, "float32", 7), tf.tensor2d(MASK)];

const cases: LayerCase[] = [
  { label: '1 head, attentionDim = input dim', make: () => new MultiHeadTargetAttention({ seed: 1 }), inputs },
  { label: '2 heads, attentionDim 4, residual', make: () => new MultiHeadTargetAttention({ numHeads: 2, attentionDim: 4, useResidual: true, seed: 2 }), inputs },
  { label: '3 heads, no scale, dropout 0.2', make: () => new MultiHeadTargetAttention({ numHeads: 3, useScale: false, dropoutRate: 0.2 }), inputs },
  { label: 'no mask', make: () => new MultiHeadTargetAttention({ numHeads: 2, seed: 3 }), inputs: () => inputs().slice(0, 2) },
];

beforeAll(useCpu);

describe('MultiHeadTargetAttention: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

/** The layer by hand: per head softmax(q·kᵀ/√d_h with −1e9 at padding)·mask, · V, heads concatenated, · W_o. */
function reference(t: Mat, h: Mat[], mask: Mat, [wQ, wK, wV, wO]: Mat[], heads: number, useScale: boolean, residual: boolean): Mat {
  const att = wQ[0].length;
  const hd = att / heads;
  return t.map((tb, b) => {
    const q = matVec(tb, wQ);
    const k = h[b].map((hj) => matVec(hj, wK));
    const v = h[b].map((hj) => matVec(hj, wV));
    const context: Vec = [];
    for (let head = 0; head < heads; head++) {
      const part = (x: Vec) => x.slice(head * hd, (head + 1) * hd);
      const scores = k.map((kj, j) => (mask[b][j] > 0 ? dot(part(q), part(kj)) / (useScale ? Math.sqrt(hd) : 1) : -1e9));
      const a = softmax(scores).map((p, j) => p * mask[b][j]);
      context.push(...v.reduce((acc, vj, j) => add(acc, scale(part(vj), a[j])), new Array(hd).fill(0)));
    }
    const out = matVec(context, wO);
    return residual ? add(out, tb) : out;
  });
}

function setup(args: MultiHeadTargetAttentionArgs) {
  const layer = new MultiHeadTargetAttention(args);
  const [t, h, m] = inputs();
  layer.apply([t, h, m]);
  randomizeWeights(layer, 5);
  return { layer, t, h, m, weights: layer.getWeights().map((w) => w.arraySync() as Mat) };
}

describe('MultiHeadTargetAttention numerics', () => {
  const grid: [number, number, boolean, boolean][] = [
    [1, 6, true, false],
    [2, 4, true, true],
    [3, 6, false, false],
  ];
  it.each(grid)('heads %i, attentionDim %i, scale %s, residual %s: matches the hand computation', (heads, attentionDim, useScale, useResidual) => {
    const { layer, t, h, m, weights } = setup({ numHeads: heads, attentionDim, useScale, useResidual });
    const out = arr(layer.apply([t, h, m]) as tf.Tensor);
    expectClose(out, reference(arr(t), arr<Mat[]>(h), MASK, weights, heads, useScale, useResidual), 1e-4);
    // fully padded row: zeros (or the residual target), never NaN
    expectClose(out[1], useResidual ? arr<Mat>(t)[1] : new Array(DIM).fill(0), 1e-6);
  });

  it('mask polarity: changing the history at padded positions changes nothing', () => {
    const { layer, t, h, m } = setup({ numHeads: 2 });
    const base = arr(layer.apply([t, h, m]) as tf.Tensor);
    const padded = tf.expandDims(tf.sub(1, m), -1);
    const changed = tf.add(h, tf.mul(padded, tf.randomNormal(h.shape, 0, 10, 'float32', 7)));
    expect(arr(layer.apply([t, changed, m]) as tf.Tensor)).toEqual(base);
    const changedValid = tf.add(h, tf.mul(tf.expandDims(m, -1), tf.randomNormal(h.shape, 0, 1, 'float32', 8)));
    expect(arr(layer.apply([t, changedValid, m]) as tf.Tensor)[0]).not.toEqual(base[0]);
    expect(arr(layer.apply([t, h, tf.sub(1, m)]) as tf.Tensor)[0]).not.toEqual(base[0]);
  });

  it('dropout on attention weights only in training', () => {
    const { layer, t, h, m, weights } = setup({ numHeads: 2, dropoutRate: 0.5 });
    const a = arr(layer.apply([t, h, m]) as tf.Tensor);
    expectClose(a, reference(arr(t), arr<Mat[]>(h), MASK, weights, 2, true, false), 1e-4);
    expect(arr(layer.apply([t, h, m], { training: true }) as tf.Tensor)).not.toEqual(a);
  });

  it('rejects an attention dim that the heads do not divide', () => {
    const layer = new MultiHeadTargetAttention({ numHeads: 4, attentionDim: 6 });
    expect(() => layer.apply(inputs())).toThrow(LayerConfigError);
  });
});
