import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqueezeExcitation } from '../../../src/models/layers';
import { type LayerCase, checkLayer, useCpu } from './layerCheck';
import { arr, expectClose, matVec, mean, relu, scale, sigmoid } from './jsRef';

const cases: LayerCase[] = [
  { label: '6 fields, r = 3 (default), relu', make: () => new SqueezeExcitation({ seed: 1 }), inputs: () => [tf.randomNormal([3, 6, 4], 0, 1, "float32", 7)], single: true },
  { label: '5 fields, r = 2, sigmoid', make: () => new SqueezeExcitation({ reductionRatio: 2, excitationActivation: 'sigmoid' }), inputs: () => [tf.randomNormal([3, 5, 4], 0, 1, "float32", 7)], single: true },
  { label: '2 fields (reduced size floors at 1)', make: () => new SqueezeExcitation({ excitationActivation: 'sigmoid', seed: 2 }), inputs: () => [tf.randomNormal([3, 2, 4], 0, 1, "float32", 7)], single: true },
];

beforeAll(useCpu);

describe('SqueezeExcitation: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

describe('SqueezeExcitation numerics', () => {
  const x = [
    [[1, 2, 3], [-1, 0, 4], [2, 2, 2], [0, -3, 1], [5, 1, 0], [1, 1, -1]],
    [[0, 1, 0], [2, 2, -2], [1, -1, 3], [4, 0, 0], [-2, -2, 1], [3, 3, 3]],
  ]; // [2, 6 fields, 3]
  for (const activation of ['relu', 'sigmoid'] as const) {
    it(`mean over dim → Linear(6 → 2) → ReLU → Linear(2 → 6) → ${activation} → rescale fields`, () => {
      const layer = new SqueezeExcitation({ excitationActivation: activation });
      layer.apply(tf.tensor3d(x));
      expect(layer.getWeights().map((w) => w.shape)).toEqual([[6, 2], [2, 6]]); // reduced = floor(6 / 3)
      // Chosen so both bottleneck units are active and the excitation differs between fields.
      const w1 = [[0.5, -0.2], [0.3, 0.1], [0.2, 0.4], [-0.1, 0.3], [0.4, 0.2], [0.1, 0.3]];
      const w2 = [[0.6, -0.4, 0.3, 0.2, -0.1, 0.5], [0.2, 0.3, -0.5, 0.4, 0.6, -0.2]];
      layer.setWeights([tf.tensor2d(w1), tf.tensor2d(w2)]);
      const expected = x.map((fields) => {
        const z = fields.map(mean);
        const hidden = relu(matVec(z, w1));
        expect(hidden.every((v) => v > 0)).toBe(true);
        const logits = matVec(hidden, w2);
        const a = activation === 'relu' ? relu(logits) : logits.map(sigmoid);
        return fields.map((f, i) => scale(f, a[i]));
      });
      expectClose(arr(layer.apply(tf.tensor3d(x)) as tf.Tensor), expected, 1e-5);
    });
  }
});
