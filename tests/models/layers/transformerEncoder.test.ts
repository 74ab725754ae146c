import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TransformerEncoder, type TransformerEncoderArgs } from '../../../src/models/layers';
import { type LayerCase, checkLayer, randomizeWeights, useCpu } from './layerCheck';
import { type Mat, type Vec, add, arr, dot, expectClose, layerNorm, matVec, relu, scale, softmax } from './jsRef';

const BATCH = 3;
const SEQ = 4;
const DIM = 4;
const MASK = [[1, 1, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1]]; // 1 = VALID; row 1 fully padded
const inputs = () => [tf.randomNormal([BATCH, SEQ, DIM], 0, 1, "float32", 7), tf.tensor2d(MASK)];

const cases: LayerCase[] = [
  { label: '1 head, ff 8', make: () => new TransformerEncoder({ ffDim: 8, seed: 1 }), inputs },
  { label: '2 heads, ff 6, gelu, dropout 0.2', make: () => new TransformerEncoder({ numHeads: 2, ffDim: 6, activation: 'gelu', dropoutRate: 0.2 }), inputs },
  { label: 'no mask, single tensor', make: () => new TransformerEncoder({ numHeads: 4, ffDim: 5, seed: 2 }), inputs: () => inputs().slice(0, 1), single: true },
];

beforeAll(useCpu);

describe('TransformerEncoder: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), for the exact GELU. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/** PyTorch's post-norm TransformerEncoderLayer by hand (dropout off), keys masked where mask == 0. */
function reference(x: Mat[], mask: Mat | undefined, w: (Mat | Vec)[], heads: number, gelu: boolean): Mat[] {
  const [inK, inB, outK, outB, k1, b1, k2, b2, g1, be1, g2, be2] = w as [Mat, Vec, Mat, Vec, Mat, Vec, Mat, Vec, Vec, Vec, Vec, Vec];
  const d = x[0][0].length;
  const hd = d / heads;
  return x.map((xb, b) => {
    const qkv = xb.map((xi) => add(matVec(xi, inK), inB));
    const q = qkv.map((r) => r.slice(0, d));
    const k = qkv.map((r) => r.slice(d, 2 * d));
    const v = qkv.map((r) => r.slice(2 * d));
    const valid = (j: number) => (mask ? mask[b][j] : 1);
    return xb.map((xi, i) => {
      const ctx: Vec = [];
      for (let h = 0; h < heads; h++) {
        const part = (r: Vec) => r.slice(h * hd, (h + 1) * hd);
        const scores = k.map((kj, j) => (valid(j) > 0 ? dot(part(q[i]), part(kj)) / Math.sqrt(hd) : -1e9));
        const a = softmax(scores).map((p, j) => p * valid(j));
        ctx.push(...v.reduce((acc, vj, j) => add(acc, scale(part(vj), a[j])), new Array(hd).fill(0)));
      }
      const h1 = layerNorm(add(xi, add(matVec(ctx, outK), outB)), g1, be1, 1e-5);
      const pre = add(matVec(h1, k1), b1);
      const act = gelu ? pre.map((u) => 0.5 * u * (1 + erf(u / Math.SQRT2))) : relu(pre);
      return layerNorm(add(h1, add(matVec(act, k2), b2)), g2, be2, 1e-5);
    });
  });
}

function setup(args: TransformerEncoderArgs) {
  const layer = new TransformerEncoder({ dropoutRate: 0, ...args });
  const [x, m] = inputs();
  layer.apply([x, m]);
  randomizeWeights(layer, 9);
  return { layer, x, m, weights: layer.getWeights().map((t) => t.arraySync() as Mat | Vec) };
}

describe('TransformerEncoder numerics', () => {
  const grid: [number, boolean][] = [[1, false], [2, false], [2, true]];
  it.each(grid)('heads %i, gelu %s: matches the hand-computed post-norm layer', (heads, gelu) => {
    const { layer, x, m, weights } = setup({ numHeads: heads, ffDim: 6, activation: gelu ? 'gelu' : 'relu' });
    const out = arr<Mat[]>(layer.apply([x, m]) as tf.Tensor);
    expectClose(out, reference(arr<Mat[]>(x), MASK, weights, heads, gelu), 1e-4);
    expect(out.flat(2).every(Number.isFinite)).toBe(true); // the fully padded row included
  });

  it('without a mask attends everywhere', () => {
    const { layer, x, weights } = setup({ numHeads: 2, ffDim: 6 });
    expectClose(arr(layer.apply(x) as tf.Tensor), reference(arr<Mat[]>(x), undefined, weights, 2, false), 1e-4);
  });

  it('mask polarity (1 = VALID): padded inputs never change outputs at valid positions', () => {
    const { layer, x, m } = setup({ numHeads: 2, ffDim: 6 });
    const base = arr<Mat[]>(layer.apply([x, m]) as tf.Tensor);
    const padded = tf.expandDims(tf.sub(1, m), -1);
    const changed = tf.add(x, tf.mul(padded, tf.randomNormal(x.shape, 0, 10, 'float32', 3)));
    const out = arr<Mat[]>(layer.apply([changed, m]) as tf.Tensor);
    MASK.forEach((row, b) => row.forEach((valid, j) => {
      if (valid) expect(out[b][j]).toEqual(base[b][j]);
    }));
    // The inverted (PyTorch-style "1 = ignore") mask gives other outputs at valid positions.
    const inverted = arr<Mat[]>(layer.apply([x, tf.sub(1, m)]) as tf.Tensor);
    expect(inverted[0][0]).not.toEqual(base[0][0]);
    // A valid position's input does matter to the other valid positions.
    const validChanged = tf.add(x, tf.mul(tf.expandDims(m, -1), tf.randomNormal(x.shape, 0, 1, 'float32', 4)));
    expect(arr<Mat[]>(layer.apply([validChanged, m]) as tf.Tensor)[0][0]).not.toEqual(base[0][0]);
  });

  it('dropout only in training', () => {
    const { layer, x, m, weights } = setup({ numHeads: 2, ffDim: 6, dropoutRate: 0.3 });
    const a = arr<Mat[]>(layer.apply([x, m]) as tf.Tensor);
    expectClose(a, reference(arr<Mat[]>(x), MASK, weights, 2, false), 1e-4);
    expect(arr(layer.apply([x, m], { training: true }) as tf.Tensor)).not.toEqual(a);
  });
});
