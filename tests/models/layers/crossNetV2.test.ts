import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { CrossNetV2 } from '../../../src/models/layers';
import { type LayerCase, checkLayer, randomizeWeights, useCpu } from './layerCheck';
import { type Mat, type Vec, add, arr, expectClose, matVec, mul } from './jsRef';

const cases: LayerCase[] = [
  { label: '1 layer', make: () => new CrossNetV2({ numLayers: 1, seed: 1 }), inputs: () => [tf.randomNormal([4, 5], 0, 1, "float32", 7)], single: true },
  { label: '3 layers (default)', make: () => new CrossNetV2(), inputs: () => [tf.randomNormal([4, 5], 0, 1, "float32", 7)], single: true },
];

beforeAll(useCpu);

describe('CrossNetV2: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

describe('CrossNetV2 numerics', () => {
  it('x_{l+1} = x_l + x_0 ⊙ (W_l x_l + b_l)', () => {
    const x0 = [[1, 2, -1], [0.5, -0.5, 2]];
    const layer = new CrossNetV2({ numLayers: 2 });
    layer.apply(tf.tensor2d(x0));
    randomizeWeights(layer, 4);
    const [k0, b0, k1, b1] = layer.getWeights().map((w) => w.arraySync() as Mat | Vec);
    const expected = x0.map((x) => {
      let xl = x;
      for (const [k, b] of [[k0, b0], [k1, b1]] as [Mat, Vec][]) xl = add(xl, mul(x, add(matVec(xl, k), b)));
      return xl;
    });
    expectClose(arr(layer.apply(tf.tensor2d(x0)) as tf.Tensor), expected, 1e-5);
  });
});
