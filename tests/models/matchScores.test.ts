/** DIN's optional match heads (`matchHeads`): log-mean-exp over valid positions of e^κ_m ⟨W_m t, h_j⟩ / √D, by hand. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MatchScores } from '../../src/models/din';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function heads(m: number, d: number): { match: MatchScores; layers: Map<string, tf.layers.Layer> } {
  const layers = new Map<string, tf.layers.Layer>();
  const match = new MatchScores('din', m, d, (key, make) => {
    const l = make(key, 7);
    layers.set(key, l);
    return l;
  });
  return { match, layers };
}

describe('MatchScores', () => {
  it('equals log(mean_valid exp(⟨W t, h⟩/√D)) per head, ignores padded positions, 0 without history', () => {
    const { match, layers } = heads(2, 2);
    const t = tf.tensor2d([[1, 0], [0, 2]]);
    const h = tf.tensor3d([[[1, 0], [0, 1], [5, 5]], [[3, 3], [4, 4], [1, 1]]]);
    const mask = tf.tensor2d([[1, 1, 0], [0, 0, 0]]);
    match.scores(t, h, mask, false).dispose(); // builds the weights
    // head 0: W = I; head 1: W = 2·I (kernel [D, M·D], head-major columns)
    layers.get('match_query')!.setWeights([tf.tensor2d([[1, 0, 2, 0], [0, 1, 0, 2]])]);
    const lme = (s: number[]) => Math.log(s.reduce((a, x) => a + Math.exp(x), 0) / s.length);
    // the initial inverse temperature e^κ is 10
    expect((match.scores(t, h, mask, false).arraySync() as number[][])[0][0]).toBeCloseTo(lme([10 / Math.SQRT2, 0]), 4);
    layers.get('match_scale')!.setWeights([tf.tensor1d([0, 0])]);
    const f = match.scores(t, h, mask, false).arraySync() as number[][];
    expect(f[0][0]).toBeCloseTo(lme([1 / Math.SQRT2, 0]), 5);
    expect(f[0][1]).toBeCloseTo(lme([2 / Math.SQRT2, 0]), 5);
    expect(f[1]).toEqual([0, 0]);
    const hDirty = tf.tensor3d([[[1, 0], [0, 1], [-9, 40]], [[3, 3], [4, 4], [1, 1]]]);
    expect(match.scores(t, hDirty, mask, false).arraySync()).toEqual(f);
  });

  it('rejects a non-integer head count', () => {
    expect(() => heads(1.5, 4)).toThrow(/matchHeads/);
  });
});
