/** DIN's optional match heads (`matchHeads`): log-mean-exp over valid positions of e^κ_m ⟨W_m t, h_j⟩ / √D, by hand. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MatchForm, MatchScores } from '../../src/models/din';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function heads(m: number, d: number, form: MatchForm = 'bilinear'): { match: MatchScores; layers: Map<string, tf.layers.Layer> } {
  const layers = new Map<string, tf.layers.Layer>();
  const match = new MatchScores(
    'din',
    m,
    d,
    (key, make) => {
      const l = make(key, 7);
      layers.set(key, l);
      return l;
    },
    form,
  );
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

  it("the diagonal form: log(mean_valid exp(⟨w ⊙ t, h⟩/√D)) per head, one weight per coordinate, seeded near 1", () => {
    const { match, layers } = heads(2, 3, 'diagonal');
    const t = tf.tensor2d([[1, 2, 0], [0, 1, 1]]);
    const h = tf.tensor3d([[[1, 1, 1], [2, 0, 1], [9, 9, 9]], [[1, 0, 0], [0, 1, 3], [1, 1, 1]]]);
    const mask = tf.tensor2d([[1, 1, 0], [1, 1, 1]]);
    match.scores(t, h, mask, false).dispose();
    const init = layers.get('match_query')!.getWeights()[0];
    expect(init.shape).toEqual([2, 3]); // [M, D]: D weights per head, not D²
    const w0 = init.arraySync() as number[][];
    expect(w0.flat().every((x) => Math.abs(x - 1) < 0.5)).toBe(true);
    expect(w0[0]).not.toEqual(w0[1]); // the heads start apart
    layers.get('match_query')!.setWeights([tf.tensor2d([[1, 1, 1], [0, 2, -1]])]);
    layers.get('match_scale')!.setWeights([tf.tensor1d([0, 0])]);
    const lme = (s: number[]) => Math.log(s.reduce((a, x) => a + Math.exp(x), 0) / s.length);
    const r3 = Math.sqrt(3);
    const f = match.scores(t, h, mask, false).arraySync() as number[][];
    // row 0, head 0: ⟨t, h⟩ = 3, 2; head 1: ⟨(0, 4, 0), h⟩ = 4, 0 (the padded position is ignored)
    expect(f[0][0]).toBeCloseTo(lme([3 / r3, 2 / r3]), 5);
    expect(f[0][1]).toBeCloseTo(lme([4 / r3, 0]), 5);
    // row 1, head 1: w ⊙ t = (0, 2, −1): ⟨·, h⟩ = 0, −1, 1
    expect(f[1][1]).toBeCloseTo(lme([0, -1, 1].map((x) => x / r3)), 5);
    const twice = heads(2, 3, 'diagonal');
    twice.match.scores(t, h, mask, false).dispose();
    expect(twice.layers.get('match_query')!.getWeights()[0].arraySync()).toEqual(w0); // same seed, same init
  });

  it('rejects a non-integer head count', () => {
    expect(() => heads(1.5, 4)).toThrow(/matchHeads/);
  });
});
