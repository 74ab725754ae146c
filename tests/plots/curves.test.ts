/** src/plots/curves.ts against hand-computed cases. */
import { describe, expect, it } from 'vitest';
import { auc } from '../../src/eval/metrics';
import { CurveError, calibrationBins, cumulative, downsampleByArcLength, project2d, rocCurve } from '../../src/plots/curves';

/** xorshift: reproducible scores. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

describe('rocCurve', () => {
  it('gives the exact curve of a hand case', () => {
    // Sorted by score: 1 (0.9), 0 (0.8), 1 (0.7), 0 (0.1).
    const c = rocCurve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]);
    expect(c.fpr).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(c.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(c.thresholds).toEqual([Infinity, 0.9, 0.8, 0.7, 0.1]);
    expect(c.auc).toBe(0.75);
    expect(c.exactPoints).toBe(5);
  });

  it('moves tied scores as one step (diagonal segment, half credit)', () => {
    const c = rocCurve([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]);
    // 0.9 → (0, 0.5); the tie at 0.5 → (0.5, 1) in one step; 0.1 → (1, 1).
    expect(c.fpr).toEqual([0, 0, 0.5, 1]);
    expect(c.tpr).toEqual([0, 0.5, 1, 1]);
    expect(c.auc).toBe(0.875);
    const flat = rocCurve([1, 0, 0, 1], [0.3, 0.3, 0.3, 0.3]);
    expect(flat.fpr).toEqual([0, 1]);
    expect(flat.tpr).toEqual([0, 1]);
    expect(flat.auc).toBe(0.5);
  });

  it('has the AUC of src/eval/metrics and downsamples deterministically to ≤ maxPoints, ends kept', () => {
    const r = rng(11);
    const n = 5000;
    const labels = new Uint8Array(n);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = r() < 0.3 ? 1 : 0;
      scores[i] = Math.round((labels[i] * 0.8 + r()) * 1000) / 1000; // many ties
    }
    const c = rocCurve(labels, scores, 50);
    expect(c.auc).toBeCloseTo(auc(labels, scores), 12);
    expect(c.exactPoints).toBeGreaterThan(50);
    expect(c.fpr.length).toBeLessThanOrEqual(50);
    expect(c.fpr.length).toBeGreaterThan(40);
    expect([c.fpr[0], c.tpr[0]]).toEqual([0, 0]);
    expect([c.fpr.at(-1), c.tpr.at(-1)]).toEqual([1, 1]);
    for (let i = 1; i < c.fpr.length; i++) {
      expect(c.fpr[i]).toBeGreaterThanOrEqual(c.fpr[i - 1]);
      expect(c.tpr[i]).toBeGreaterThanOrEqual(c.tpr[i - 1]);
    }
    expect(rocCurve(labels, scores, 50)).toEqual(c);
    // The downsampled curve stays close to the exact one: its area is within 0.005.
    let area = 0;
    for (let i = 1; i < c.fpr.length; i++) area += ((c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1])) / 2;
    expect(Math.abs(area - c.auc)).toBeLessThan(0.005);
  });

  it('refuses one class, bad labels, NaN scores and length mismatches', () => {
    expect(() => rocCurve([1, 1], [0.1, 0.2])).toThrow(/needs both classes, got 2 positives and 0 negatives/);
    expect(() => rocCurve([1, 2], [0.1, 0.2])).toThrow(/label at row 1 is 2/);
    expect(() => rocCurve([1, 0], [0.1, NaN])).toThrow(/score at row 1 is NaN/);
    expect(() => rocCurve([1, 0], [0.1])).toThrow(CurveError);
    expect(() => rocCurve([1, 0], [0.1, 0.2], 1)).toThrow(/maxPoints 1/);
  });
});

describe('downsampleByArcLength', () => {
  it('keeps everything when short, and equal path steps when long', () => {
    expect(downsampleByArcLength([0, 1], [0, 1], 5)).toEqual([0, 1]);
    // 11 points on a straight line of length 10 → 3 points: ends and the middle.
    const x = Array.from({ length: 11 }, (_, i) => i);
    const y = x.map(() => 0);
    expect(downsampleByArcLength(x, y, 3)).toEqual([0, 5, 10]);
    expect(downsampleByArcLength(x, y, 6)).toEqual([0, 2, 4, 6, 8, 10]);
  });
});

describe('calibrationBins', () => {
  it('bins a hand case in equal-width bins, skipping empty ones', () => {
    const bins = calibrationBins([0, 1, 1, 0, 1], [0.05, 0.15, 0.12, 0.95, 1], 10);
    expect(bins).toHaveLength(3);
    expect(bins[0]).toEqual({ meanPred: 0.05, fracPos: 0, count: 1 });
    expect(bins[1].meanPred).toBeCloseTo(0.135, 12);
    expect(bins[1]).toMatchObject({ fracPos: 1, count: 2 });
    // 1.0 falls in the last bin with 0.95.
    expect(bins[2].meanPred).toBeCloseTo(0.975, 12);
    expect(bins[2]).toMatchObject({ fracPos: 0.5, count: 2 });
    const two = calibrationBins([0, 1, 0, 1], [0.2, 0.4, 0.6, 0.8], 2);
    expect(two).toEqual([
      { meanPred: 0.30000000000000004, fracPos: 0.5, count: 2 },
      { meanPred: 0.7, fracPos: 0.5, count: 2 },
    ]);
  });

  it('refuses scores outside [0, 1] and bad bin counts', () => {
    expect(() => calibrationBins([0, 1], [0.5, 1.5])).toThrow(/score at row 1 is 1.5, expected a probability/);
    expect(() => calibrationBins([0, 1], [0.5, 0.5], 0)).toThrow(/bins 0/);
  });
});

describe('project2d', () => {
  it('finds the two axes of a hand case, deterministically', () => {
    // Points spread along e0 (±3) and e1 (±1) in 3-D, nothing along e2.
    const pts = [
      [3, 0, 0],
      [-3, 0, 0],
      [0, 1, 0],
      [0, -1, 0],
    ];
    const p = project2d(pts.flat(), 3);
    expect(p.x.map((v) => Math.abs(v))).toEqual([3, 3, 0, 0].map((v) => expect.closeTo(v, 5)));
    expect(p.y.map((v) => Math.abs(v))).toEqual([0, 0, 1, 1].map((v) => expect.closeTo(v, 5)));
    // Variances 18/3 and 2/3 of a total 20/3.
    expect(p.explained[0]).toBeCloseTo(0.9, 10);
    expect(p.explained[1]).toBeCloseTo(0.1, 10);
    expect(project2d(Float32Array.from(pts.flat()), 3)).toEqual(p);
  });

  it('refuses ragged input and too few rows', () => {
    expect(() => project2d([1, 2, 3, 4, 5], 2)).toThrow(/not a whole number of rows of 2/);
    expect(() => project2d([1, 2, 3, 4], 2)).toThrow(/at least 3 rows/);
  });
});

it('cumulative sums ratios', () => {
  expect(cumulative([0.5, 0.25, 0.125])).toEqual([0.5, 0.75, 0.875]);
});
