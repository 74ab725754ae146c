import { describe, expect, it } from 'vitest';
import { MmctrError } from '../../src/errors';
import { MetricError, auc, evaluate, gauc, groupAuc, logloss, oracleGap, sortFloats } from '../../src/eval';

/** Small seeded PRNG (mulberry32) so property tests are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reference AUC by definition: over all (pos, neg) pairs, 1 if pos scores higher, ½ on a tie. O(P·N). */
function naiveAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let u = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) u += 1;
      else if (scores[i] === scores[j]) u += 0.5;
    }
  }
  return u / pairs;
}

/** Reference gAUC: per-user naive AUC, weighted by the user's row count, single-class users skipped. */
function naiveGauc(labels: number[], scores: number[], groups: number[]): number {
  const rowsOf = new Map<number, number[]>();
  groups.forEach((g, i) => rowsOf.set(g, [...(rowsOf.get(g) ?? []), i]));
  let num = 0;
  let den = 0;
  for (const rows of rowsOf.values()) {
    const y = rows.map((i) => labels[i]);
    const positives = y.filter((v) => v === 1).length;
    if (positives === 0 || positives === y.length) continue;
    num += rows.length * naiveAuc(y, rows.map((i) => scores[i]));
    den += rows.length;
  }
  return num / den;
}

/** n rows, labels ~ Bernoulli(0.3 + 0.4·signal), scores from `levels` distinct values so ties are frequent. */
function randomCase(seed: number, n: number, levels: number): { labels: number[]; scores: number[] } {
  const r = rng(seed);
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const level = Math.floor(r() * levels);
    scores.push(level / levels);
    labels.push(r() < 0.3 + (0.4 * level) / levels ? 1 : 0);
  }
  return { labels, scores };
}

describe('auc: hand-computed', () => {
  it('four rows, no ties', () => {
    // pos 0.35 beats neg 0.1, loses to neg 0.4; pos 0.8 beats both → U = 3 of P·N = 4 pairs → 0.75
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
  });

  it('ties count one half', () => {
    // pos = {0.5, 0.9, 0.2}, neg = {0.5, 0.1}
    // pos 0.5: tie with 0.5 (½) + beats 0.1 (1) = 1.5; pos 0.9: 2; pos 0.2: beats 0.1 only = 1 → U = 4.5 / 6 = 0.75
    // midranks: 0.1→1, 0.2→2, 0.5,0.5→3.5, 0.9→5; pos rank sum 10.5 − P(P+1)/2 = 10.5 − 6 = 4.5 ✓
    expect(auc([1, 0, 1, 0, 1], [0.5, 0.5, 0.9, 0.1, 0.2])).toBe(0.75);
  });

  it('a tie across classes only', () => {
    // labels 1,0 both at score 0.3: one pair, a tie → ½
    expect(auc([1, 0], [0.3, 0.3])).toBe(0.5);
    // pos {2, 2}, neg {2, 1}: pos 2 → ½ + 1 each → U = 3 / 4
    expect(auc([1, 1, 0, 0], [2, 2, 2, 1])).toBe(0.75);
  });

  it('all scores tied → 0.5; perfectly separated → 1; reversed → 0', () => {
    expect(auc([0, 1, 1, 0, 1], [7, 7, 7, 7, 7])).toBe(0.5);
    expect(auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])).toBe(1);
    expect(auc([0, 1, 0, 1], [0.9, 0.1, 0.8, 0.2])).toBe(0);
  });

  it('handles negative scores, infinities and signed zeros', () => {
    // pos {-Inf, 0, 3}, neg {-0, -2, Inf}: -Inf → 0; 0 ties -0 (½) + beats -2 → 1.5; 3 beats -0, -2 → 2; U = 3.5 / 9
    expect(auc([1, 0, 1, 0, 1, 0], [-Infinity, -0, 0, -2, 3, Infinity])).toBeCloseTo(3.5 / 9, 15);
  });
});

describe('auc: properties', () => {
  it.each([1, 2, 3, 4, 5, 6])('matches the naive pairwise AUC with many ties (seed %i)', (seed) => {
    const r = rng(100 + seed);
    const n = 50 + Math.floor(r() * 600);
    const levels = 2 + Math.floor(r() * 30);
    const { labels, scores } = randomCase(seed, n, levels);
    const expected = naiveAuc(labels, scores);
    expect(auc(labels, scores)).toBeCloseTo(expected, 12);
    expect(auc(Uint8Array.from(labels), Float32Array.from(scores))).toBeCloseTo(naiveAuc(labels, Float32Array.from(scores)), 12);
  });

  it.each([11, 12])('matches a by-level count on 100k rows (radix-sort path, seed %i)', (seed) => {
    // With scores on `levels` values, U = Σ_level pos_l · (neg below l + ½ neg_l): exact and O(n).
    const levels = 997;
    const { labels, scores } = randomCase(seed, 100_000, levels);
    const pos = new Float64Array(levels);
    const neg = new Float64Array(levels);
    scores.forEach((s, i) => (labels[i] === 1 ? pos : neg)[Math.round(s * levels)]++);
    let u = 0;
    let below = 0;
    for (let l = 0; l < levels; l++) {
      u += pos[l] * (below + neg[l] / 2);
      below += neg[l];
    }
    const p = pos.reduce((a, b) => a + b, 0);
    const expected = u / (p * (labels.length - p));
    expect(auc(labels, Float64Array.from(scores))).toBeCloseTo(expected, 12);
    expect(auc(Int32Array.from(labels), Float32Array.from(scores))).toBeCloseTo(expected, 12);
  });

  it('is invariant under strictly monotone transforms', () => {
    for (const seed of [21, 22, 23]) {
      const { labels, scores } = randomCase(seed, 400, 12);
      const base = auc(labels, scores);
      const integers = scores.map((s) => s * 12); // exact: 0..11
      expect(auc(labels, integers.map((x) => Math.exp(x)))).toBeCloseTo(base, 14);
      expect(auc(labels, integers.map((x) => x * x * x + 5 * x - 100))).toBeCloseTo(base, 14);
      expect(auc(labels, integers.map((x) => 1 / (1 + Math.exp(-(x - 6)))))).toBeCloseTo(base, 14);
    }
  });

  it('AUC(1 − p) = 1 − AUC(p)', () => {
    for (const seed of [31, 32, 33]) {
      const { labels, scores } = randomCase(seed, 500, 20);
      expect(auc(labels, scores.map((p) => 1 - p))).toBeCloseTo(1 - auc(labels, scores), 12);
    }
  });
});

describe('sortFloats', () => {
  it.each([
    ['Float64Array', 40_000],
    ['Float32Array', 40_000],
    ['Float64Array', 500],
  ] as const)('sorts %s of %i values like the native sort', (kind, n) => {
    const r = rng(n);
    const special = [-0, 0, Infinity, -Infinity, 5e-324, -5e-324, 1e-40, -1e-40, 1e300, -1e300];
    const values = Array.from({ length: n }, (_, i) =>
      i < special.length ? special[i] : (r() - 0.4) * 10 ** Math.floor(r() * 12 - 6) * (r() < 0.1 ? 0 : 1),
    );
    const arr = kind === 'Float64Array' ? Float64Array.from(values) : Float32Array.from(values);
    const expected = arr.slice().sort();
    const sorted = sortFloats(arr);
    expect(sorted.length).toBe(n);
    for (let i = 0; i < n; i++) {
      if (!(sorted[i] === expected[i])) throw new Error(`index ${i}: ${sorted[i]} ≠ ${expected[i]}`);
    }
  });
});

describe('logloss', () => {
  it('hand values', () => {
    // (−ln 0.8 − ln(1 − 0.4)) / 2 = (0.2231435513 + 0.5108256238) / 2 = 0.3669845875
    expect(logloss([1, 0], [0.8, 0.4])).toBeCloseTo(0.3669845875, 9);
    // −ln 0.5 = 0.6931471806 for every row
    expect(logloss(new Float32Array([1, 0, 1]), new Float32Array([0.5, 0.5, 0.5]))).toBeCloseTo(Math.LN2, 12);
  });

  it('clips at eps', () => {
    // confidently wrong: p clipped to 1e-7 → −ln 1e-7 = 16.1180956510 per row
    expect(logloss([1, 0], [0, 1])).toBeCloseTo(16.118095651, 9);
    // confidently right: −ln(1 − 1e-7) ≈ 1.00000005e-7 per row, not 0
    expect(logloss([1, 0], [1, 0])).toBeCloseTo(1.00000005e-7, 15);
    // a custom eps: −ln 0.01 = 4.605170186
    expect(logloss([1], [0], 0.01)).toBeCloseTo(4.605170186, 9);
  });

  it('refuses logits and NaN', () => {
    expect(() => logloss([1, 0], [0.5, 1.7])).toThrow(/probs\[1\] = 1.7 is outside \[0, 1\]/);
    expect(() => logloss([1, 0], [0.5, NaN])).toThrow(/scores\[1\] is NaN/);
  });
});

describe('gauc', () => {
  it('hand example: single-class users are left out', () => {
    // user 7: labels 1,0,0 scores .9,.3,.95 → pos .9 beats .3, loses to .95 → AUC ½, n = 3
    // user 3: labels 1,0 scores .2,.1 → AUC 1, n = 2
    // user 5: labels 1,1 (one class) and user 9: a single 0 → excluded
    // gAUC = (3·½ + 2·1) / (3 + 2) = 3.5 / 5 = 0.7
    const groups = Int32Array.from([7, 3, 5, 7, 9, 3, 7, 5]);
    const labels = [1, 1, 1, 0, 0, 0, 0, 1];
    const scores = [0.9, 0.2, 0.4, 0.3, 0.6, 0.1, 0.95, 0.8];
    expect(gauc(labels, scores, groups)).toBeCloseTo(0.7, 15);
    expect(groupAuc(labels, scores, groups)).toEqual({ gauc: expect.closeTo(0.7, 15), users: 4, usersCounted: 2, rowsCounted: 5 });
  });

  it.each([1, 2, 3, 4])('matches a naive per-user computation (seed %i)', (seed) => {
    const r = rng(1000 + seed);
    const n = 3000;
    const { labels, scores } = randomCase(seed, n, 8);
    // a few heavy users (> 24 rows each, the native-sort path) among many light ones
    const groups = labels.map(() => (r() < 0.2 ? Math.floor(r() * 5) : 5 + Math.floor(r() * 600)));
    const expected = naiveGauc(labels, scores, groups);
    expect(gauc(labels, scores, Int32Array.from(groups))).toBeCloseTo(expected, 12);
    // sparse ids (ranked path) and Int64 ids give the same number
    expect(gauc(labels, scores, groups.map((g) => g * 1_000_003 - 7e9))).toBeCloseTo(expected, 12);
    expect(gauc(labels, Float64Array.from(scores), BigInt64Array.from(groups.map(BigInt)))).toBeCloseTo(expected, 12);
  });

  it('refuses when no user holds both labels', () => {
    expect(() => gauc([1, 0, 1], [0.1, 0.2, 0.3], [1, 2, 1])).toThrow(
      /gAUC is undefined: none of the 2 users has rows with both labels/,
    );
  });

  it('refuses non-integer or mismatched groups', () => {
    expect(() => gauc([1, 0], [0.1, 0.2], [1, 1.5])).toThrow(/groups\[1\] = 1.5 is not an integer id/);
    expect(() => gauc([1, 0], [0.1, 0.2], [1])).toThrow(/labels has 2 entries but groups has 1/);
  });
});

describe('evaluate and oracleGap', () => {
  it('reports auc, logloss, gauc, n and the positive rate', () => {
    const labels = [1, 1, 1, 0, 0, 0, 0, 1];
    const scores = [0.9, 0.2, 0.4, 0.3, 0.6, 0.1, 0.95, 0.8];
    const groups = [7, 3, 5, 7, 9, 3, 7, 5];
    const result = evaluate(labels, scores, groups);
    expect(result).toEqual({
      auc: auc(labels, scores),
      logloss: logloss(labels, scores),
      gauc: gauc(labels, scores, groups),
      n: 8,
      positiveRate: 0.5,
    });
    expect(evaluate(labels, scores)).not.toHaveProperty('gauc');
  });

  it('oracle gap and share of lift recovered', () => {
    // gap = 0.9 − 0.8 = 0.1; lift recovered = (0.8 − 0.5) / (0.9 − 0.5) = 0.75
    const g = oracleGap(0.8, 0.9);
    expect(g.gap).toBeCloseTo(0.1, 15);
    expect(g.liftRecovered).toBeCloseTo(0.75, 15);
    expect(oracleGap(0.5, 0.5).liftRecovered).toBeNaN();
    expect(() => oracleGap(1.2, 0.9)).toThrow(/auc = 1.2 is not an AUC/);
  });
});

describe('errors', () => {
  it.each([
    ['length mismatch', () => auc([1, 0, 1], [0.1, 0.2]), /labels has 3 entries but scores has 2/],
    ['empty input', () => auc([], []), /empty input/],
    ['all positive', () => auc([1, 1, 1], [0.1, 0.2, 0.3]), /AUC is undefined: all 3 labels are 1/],
    ['all negative', () => auc(new Uint8Array(4), new Float32Array(4)), /AUC is undefined: all 4 labels are 0/],
    ['label 2', () => auc([0, 1, 2], [0.1, 0.2, 0.3]), /labels\[2\] = 2; labels must be 0 or 1/],
    ['label 0.5', () => logloss(new Float32Array([0.5]), [0.1]), /labels\[0\] = 0.5/],
    ['bigint label', () => auc(BigInt64Array.from([0n, 3n]), [0.1, 0.2]), /labels\[1\] = 3/],
    ['NaN score', () => auc([0, 1, 0, 1], [0.1, 0.2, NaN, NaN]), /scores\[2\] is NaN/],
    ['empty gauc', () => gauc([], [], []), /empty input/],
  ] as const)('%s', (_name, call, message) => {
    expect(call).toThrow(MetricError);
    expect(call).toThrow(MmctrError);
    expect(call).toThrow(message);
  });
});
