import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { CrossNetMix } from '../../../src/models/layers';
import { type LayerCase, checkLayer, randomizeWeights, useCpu } from './layerCheck';
import { type Mat, type Vec, add, arr, expectClose, matVec, mul, scale, softmax, tanh, transpose } from './jsRef';

const cases: LayerCase[] = [
  { label: '1 layer, rank 2, 1 expert', make: () => new CrossNetMix({ numLayers: 1, lowRank: 2, numExperts: 1, seed: 1 }), inputs: () => [tf.randomNormal([4, 5], 0, 1, "float32", 7)], single: true },
  { label: '2 layers, rank 3, 3 experts', make: () => new CrossNetMix({ numLayers: 2, lowRank: 3, numExperts: 3 }), inputs: () => [tf.randomNormal([4, 5], 0, 1, "float32", 7)], single: true },
];

beforeAll(useCpu);

describe('CrossNetMix: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

describe('CrossNetMix numerics', () => {
  it('x_{l+1} = Σ_e softmax(G x_l)_e · x_0 ⊙ (U_e tanh(C_e tanh(V_eᵀ x_l)) + b_l) + x_l', () => {
    const x0 = [[1, 2, -1, 0.5], [0.5, -0.5, 2, 1]];
    const [layers, experts] = [2, 3];
    const layer = new CrossNetMix({ numLayers: layers, lowRank: 2, numExperts: experts });
    layer.apply(tf.tensor2d(x0));
    randomizeWeights(layer, 6);
    const w = layer.getWeights().map((t) => t.arraySync());
    // order: per layer U [E, d, r], V [E, d, r], C [E, r, r], bias [d]; then gating [d, E]
    const gating = w[4 * layers] as Mat;
    const expected = x0.map((x) => {
      let xl = x;
      for (let l = 0; l < layers; l++) {
        const [U, V, C] = w.slice(4 * l, 4 * l + 3) as Mat[][];
        const bias = w[4 * l + 3] as Vec;
        const gates = softmax(matVec(xl, gating));
        let next = xl;
        for (let e = 0; e < experts; e++) {
          const low = tanh(matVec(xl, V[e])); // V_eᵀ x
          const low2 = tanh(matVec(low, transpose(C[e]))); // C_e · low
          const back = matVec(low2, transpose(U[e])); // U_e · low2
          next = add(next, scale(mul(x, add(back, bias)), gates[e]));
        }
        xl = next;
      }
      return xl;
    });
    expectClose(arr(layer.apply(tf.tensor2d(x0)) as tf.Tensor), expected, 1e-5);
  });
});
