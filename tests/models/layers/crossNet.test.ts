import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { CrossNet } from '../../../src/models/layers';
import { type LayerCase, checkLayer, randomizeWeights, useCpu } from './layerCheck';
import { type Mat, type Vec, add, arr, dot, expectClose, scale } from './jsRef';

const cases: LayerCase[] = [
  { label: '1 layer', make: () => new CrossNet({ numLayers: 1, seed: 1 }), inputs: () => [tf.randomNormal([4, 5], 0, 1, "float32", 7)], single: true },
  { label: '3 layers (default)', make: () => new CrossNet(), inputs: () => [tf.randomNormal([4, 5], 0, 1, "float32", 7)], single: true },
];

beforeAll(useCpu);

describe('CrossNet: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

describe('CrossNet numerics', () => {
  it('x_{l+1} = x_l + x_0·(x_l·w_l) + b_l', () => {
    const x0 = [[1, 2, -1], [0.5, -0.5, 2]];
    const layer = new CrossNet({ numLayers: 2 });
    layer.apply(tf.tensor2d(x0));
    randomizeWeights(layer, 2);
    const [w0, b0, w1, b1] = layer.getWeights().map((w) => w.arraySync() as Mat | Vec);
    const expected = x0.map((x) => {
      let xl = x;
      for (const [w, b] of [[w0, b0], [w1, b1]] as [Mat, Vec][]) {
        xl = add(add(xl, scale(x, dot(xl, w.map((r) => r[0])))), b);
      }
      return xl;
    });
    expectClose(arr(layer.apply(tf.tensor2d(x0)) as tf.Tensor), expected, 1e-5);
  });
});
