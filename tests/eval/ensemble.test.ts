/** combinePredictions: the mean of the members' logits (or probabilities), by hand; bad input refused by name. */
import { describe, expect, it } from 'vitest';
import { EnsembleError, combinePredictions, normaliseWeights } from '../../src/eval/ensemble';

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('combinePredictions', () => {
  const a = [0.1, 0.5, 0.9, 0.3];
  const b = [0.3, 0.2, 0.99, 0.3];

  it('logit mode is σ of the mean logit, row by row', () => {
    const out = combinePredictions([a, b]);
    for (let r = 0; r < a.length; r++) expect(out[r]).toBeCloseTo(sigmoid((logit(a[r]) + logit(b[r])) / 2), 6);
    // identical members change nothing; the logit mean is not the probability mean
    expect(Array.from(combinePredictions([a, a]))).toEqual(Array.from(Float32Array.from(a)));
    expect(out[0]).not.toBeCloseTo(0.2, 3);
  });

  it('prob mode is the weighted mean of the probabilities', () => {
    const out = combinePredictions([a, b], { mode: 'prob', weights: [3, 1] });
    for (let r = 0; r < a.length; r++) expect(out[r]).toBeCloseTo(0.75 * a[r] + 0.25 * b[r], 6);
  });

  it('weights: a zero weight drops a member; weights are normalised', () => {
    expect(Array.from(combinePredictions([a, b], { weights: [0, 2] }))).toEqual(Array.from(combinePredictions([b])));
    expect(Array.from(normaliseWeights(3, [1, 1, 2]))).toEqual([0.25, 0.25, 0.5]);
    expect(Array.from(normaliseWeights(4))).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('probabilities of exactly 0 and 1 are clipped, not infinite', () => {
    const out = combinePredictions([[0, 1], [0, 1]]);
    expect(out[0]).toBeGreaterThan(0);
    expect(out[0]).toBeLessThan(1e-6);
    expect(out[1]).toBeLessThanOrEqual(1);
    expect(out[1]).toBeGreaterThan(1 - 1e-6);
  });

  it('refuses members of other lengths, non-probabilities and bad weights, naming them', () => {
    expect(() => combinePredictions([a, [0.1]], { names: ['runs/x', 'runs/y'] })).toThrow(/runs\/y has 1 predictions, runs\/x 4/);
    expect(() => combinePredictions([a, [0.1, NaN, 0.2, 0.3]])).toThrow(/member 2: prediction NaN at row 1/);
    expect(() => combinePredictions([a, [0.1, 1.5, 0.2, 0.3]])).toThrow(EnsembleError);
    expect(() => combinePredictions([a, b], { weights: [1] })).toThrow(/1 weights for 2 members/);
    expect(() => combinePredictions([a, b], { weights: [1, -1] })).toThrow(/weight 2 is -1/);
    expect(() => combinePredictions([a, b], { weights: [0, 0] })).toThrow(/sum to 0/);
    expect(() => combinePredictions([])).toThrow(/at least one member/);
    expect(() => combinePredictions([a], { mode: 'median' as never })).toThrow(/logit, prob/);
  });
});
