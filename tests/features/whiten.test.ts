/** Whitening (BERT-whitening): unit, uncorrelated outputs; the cut keeps the top directions; after = per-axis scaling for PCA. */
import { describe, expect, it } from 'vitest';
import { covariance, pcaAsLinearMap, pcaFromCovarianceStats, projectRows } from '../../src/features/pca';
import { mappedCovariance, whitenAfter, whitenRows, whiteningFromCovariance } from '../../src/features/whiten';
import { rng } from '../../src/util/rng';

function correlated(n: number, d: number, seed: number): Float32Array {
  const r = rng(seed);
  const mix = new Float64Array(d * d);
  r.fillNormal(mix);
  const x = new Float32Array(n * d);
  const z = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) z[j] = r.normal() * (1 + j);
    for (let j = 0; j < d; j++) {
      let s = 5;
      for (let t = 0; t < d; t++) s += mix[j * d + t] * z[t];
      x[i * d + j] = s;
    }
  }
  return x;
}

/** Sample covariance of an n×k float32 table. */
function sampleCov(y: Float32Array, n: number, k: number): Float64Array {
  const mean = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) mean[j] += y[i * k + j] / n;
  const c = new Float64Array(k * k);
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) for (let q = 0; q < k; q++) c[p * k + q] += ((y[i * k + p] - mean[p]) * (y[i * k + q] - mean[q])) / (n - 1);
  return c;
}

describe('whitening', () => {
  const n = 2000;
  const d = 12;
  const x = { data: correlated(n, d, 5), rows: n, cols: d };
  const st = covariance(x, { backend: 'typescript' });

  it('maps the data to unit variance and no correlation (full and cut)', () => {
    for (const k of [d, 5]) {
      const w = whiteningFromCovariance(st.cov, d, { k, epsilon: 0 });
      const [y] = projectRows(x, st.mean, [w], { backend: 'typescript' });
      const c = sampleCov(y, n, k);
      for (let p = 0; p < k; p++) for (let q = 0; q < k; q++) expect(c[p * k + q]).toBeCloseTo(p === q ? 1 : 0, 6);
      // The cut keeps the largest-variance directions: its eigenvalues are the top ones of Σ.
      const pca = pcaFromCovarianceStats(st, k);
      for (let j = 0; j < k; j++) expect(w.eigenvalues[j]).toBeCloseTo(pca.explainedVariance[j], 8);
    }
  });

  it('whitening after a PCA divides each axis by its standard deviation', () => {
    const pca = pcaFromCovarianceStats(st, 4);
    const { map } = whitenAfter(pcaAsLinearMap(pca), st.cov, { epsilon: 0 });
    const c = mappedCovariance(map, st.cov);
    for (let p = 0; p < 4; p++) for (let q = 0; q < 4; q++) expect(c[p * 4 + q]).toBeCloseTo(p === q ? 1 : 0, 8);
    // Same span as the PCA axes, each axis rescaled (up to sign): column j ∝ v_j / sqrt(λ_j).
    for (let j = 0; j < 4; j++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += map.weights[i * 4 + j] * pca.components[j * d + i];
      expect(Math.abs(dot)).toBeCloseTo(1 / Math.sqrt(pca.explainedVariance[j]), 6);
    }
  });

  it('whitenRows whitens arbitrary vectors on the given rows and leaves the others zero', () => {
    const rows = Int32Array.from({ length: n - 1 }, (_, i) => i + 1);
    const { vectors, whitening } = whitenRows(x.data, d, { rows, k: 3, epsilon: 0 });
    expect(whitening.k).toBe(3);
    expect(Array.from(vectors.subarray(0, 3))).toEqual([0, 0, 0]);
    const c = sampleCov(vectors.subarray(3), n - 1, 3);
    for (let p = 0; p < 3; p++) expect(c[p * 3 + p]).toBeCloseTo(1, 5);
  });

  it('keeps zero-variance directions bounded and checks its arguments', () => {
    const cov = new Float64Array([4, 0, 0, 0]);
    const w = whiteningFromCovariance(cov, 2);
    expect(Number.isFinite(w.weights[1 * 2 + 1])).toBe(true);
    expect(Math.abs(w.weights[0])).toBeCloseTo(0.5, 5);
    expect(() => whiteningFromCovariance(cov, 2, { k: 3 })).toThrow(/k = 3/);
    expect(() => whiteningFromCovariance(new Float64Array(3), 2)).toThrow(/3 values/);
  });
});
