/** Spherical k-means, the sampled silhouette and the choice of k, on planted clusters of directions. */
import { describe, expect, it } from 'vitest';
import { MmctrError } from '../../src/errors';
import { chooseK, silhouetteScore, sphericalKMeans } from '../../src/features/kmeans';
import { rng } from '../../src/util/rng';

/** Row 0 zero (padding); rows 1..n in `groups` clusters around random unit directions, scaled by random norms. */
function planted(n: number, dim: number, groups: number, noise: number, seed: number): { x: Float32Array; truth: Int32Array } {
  const g = rng(seed);
  const centres = new Float32Array(groups * dim);
  g.fillNormal(centres);
  const x = new Float32Array((n + 1) * dim);
  const truth = new Int32Array(n + 1).fill(-1);
  for (let r = 1; r <= n; r++) {
    const c = (r - 1) % groups;
    truth[r] = c;
    const norm = Math.hypot(...centres.subarray(c * dim, (c + 1) * dim));
    const scale = 0.5 + 2 * g.uniform(); // spherical: the norm must not matter
    for (let j = 0; j < dim; j++) x[r * dim + j] = scale * (centres[c * dim + j] / norm + noise * g.normal());
  }
  return { x, truth };
}

/** True when two labellings of the labelled rows are the same partition (labels up to a permutation). */
function samePartition(a: Int32Array, b: Int32Array): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if (a[i] < 0 || b[i] < 0) {
      if (a[i] !== b[i]) return false;
      continue;
    }
    if ((ab.get(a[i]) ?? b[i]) !== b[i] || (ba.get(b[i]) ?? a[i]) !== a[i]) return false;
    ab.set(a[i], b[i]);
    ba.set(b[i], a[i]);
  }
  return true;
}

describe('spherical k-means', () => {
  const { x, truth } = planted(300, 16, 5, 0.15, 11);

  it('recovers planted clusters; zero rows get −1; converges', () => {
    const res = sphericalKMeans(x, 16, 5, { seed: 3 });
    expect(res.labels[0]).toBe(-1);
    expect(samePartition(res.labels, truth)).toBe(true);
    expect(Array.from(res.sizes)).toEqual([60, 60, 60, 60, 60]);
    expect(res.converged).toBe(true);
    for (let c = 0; c < 5; c++) expect(Math.hypot(...res.centroids.subarray(c * 16, (c + 1) * 16))).toBeCloseTo(1, 10);
  });

  it('is deterministic for a seed', () => {
    const noisy = planted(200, 8, 6, 0.8, 5).x; // overlapping clusters: the result depends on the seeding
    const a = sphericalKMeans(noisy, 8, 6, { seed: 1 });
    const b = sphericalKMeans(noisy, 8, 6, { seed: 1 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
    const c = sphericalKMeans(noisy, 8, 6, { seed: 2 });
    expect(Array.from(c.labels)).not.toEqual(Array.from(a.labels));
  });

  it('stops at maxIterations', () => {
    const noisy = planted(200, 8, 6, 0.8, 5).x;
    const res = sphericalKMeans(noisy, 8, 6, { maxIterations: 1 });
    expect(res.iterations).toBe(1);
    expect(res.converged).toBe(false);
  });

  it('rejects k < 2 or k > the non-zero rows with a clear MmctrError', () => {
    expect(() => sphericalKMeans(x, 16, 1)).toThrow(MmctrError);
    expect(() => sphericalKMeans(x, 16, 1)).toThrow(/k = 1 must be an integer in \[2, 300\]/);
    expect(() => sphericalKMeans(x, 16, 301)).toThrow(/k = 301 must be an integer in \[2, 300\]/);
    expect(() => sphericalKMeans(x, 16, 2.5)).toThrow(MmctrError);
    expect(() => sphericalKMeans(x, 5, 3)).toThrow(/not rows of 5/);
  });
});

describe('silhouette and the choice of k', () => {
  const { x, truth } = planted(300, 16, 5, 0.15, 11);

  it('scores the planted labelling near 1 and a random one near 0', () => {
    expect(silhouetteScore(x, 16, truth)).toBeGreaterThan(0.5); // 0.64 here
    const g = rng(4);
    const random = Int32Array.from(truth, (t) => (t < 0 ? -1 : g.int(5)));
    expect(Math.abs(silhouetteScore(x, 16, random))).toBeLessThan(0.1);
    // Sampled: fewer rows than the sample size uses them all, a smaller sample is still close.
    expect(silhouetteScore(x, 16, truth, { sample: 100 })).toBeCloseTo(silhouetteScore(x, 16, truth), 1);
  });

  it('chooseK prefers the planted k', () => {
    const res = chooseK(x, 16, [3, 4, 5, 6, 8], { kmeans: { seed: 3 } });
    expect(res.best.k).toBe(5);
    expect(res.scores.map((s) => s.k)).toEqual([3, 4, 5, 6, 8]);
    expect(res.silhouette).toBe(Math.max(...res.scores.map((s) => s.silhouette)));
    expect(samePartition(res.best.labels, truth)).toBe(true);
    expect(() => chooseK(x, 16, [])).toThrow(/no candidate k/);
  });
});
