/**
 * The project's PCA against `ml-pca` (the reference API named by Task 1) on small inputs: components equal up to
 * sign, eigenvalues and explained-variance ratios to 1e-6 relative, projections equal up to sign — for the Gram
 * form (rows > columns) and the dual form (rows < columns).
 */
import { PCA } from 'ml-pca';
import { describe, expect, it } from 'vitest';
import { fitPca, pcaTransform } from '../../src/linalg';
import { rng } from '../../src/util/rng';

/** n×d rows: a decaying low-rank signal plus noise around a non-zero mean (distinct eigenvalues). */
function table(n: number, d: number, seed: number): Float32Array {
  const r = rng(seed);
  const rank = Math.min(6, d);
  const basis = new Float64Array(rank * d);
  r.fillNormal(basis);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = 0.2 * r.normal() + 0.05 * j;
    for (let t = 0; t < rank; t++) {
      const z = r.normal() * (rank - t) * 1.5;
      for (let j = 0; j < d; j++) x[i * d + j] += z * basis[t * d + j];
    }
  }
  return x;
}

function rowsOf(x: Float32Array, n: number, d: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

describe.each([
  { n: 400, d: 24, k: 6, form: 'Gram (rows > columns)' },
  { n: 30, d: 64, k: 5, form: 'dual (rows < columns)' },
])('PCA vs ml-pca, $form', ({ n, d, k }) => {
  const x = table(n, d, 11 + n);
  const ours = fitPca({ data: x, rows: n, cols: d }, { k });
  const ref = new PCA(rowsOf(x, n, d), { method: 'covarianceMatrix' });
  const refValues = ref.getEigenvalues();
  const refTotal = refValues.reduce((s, v) => s + v, 0);

  it('has the same top-k eigenvalues and explained-variance ratios (1e-6 relative)', () => {
    for (let j = 0; j < k; j++) {
      expect(relErr(ours.explainedVariance[j], refValues[j])).toBeLessThan(1e-6);
      expect(relErr(ours.explainedVariance[j] / ours.totalVariance, refValues[j] / refTotal)).toBeLessThan(1e-6);
    }
    expect(relErr(ours.totalVariance, refTotal)).toBeLessThan(1e-6);
  });

  it('has the same components up to sign', () => {
    const V = ref.getEigenvectors(); // d×d, columns are components
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += ours.components[j * d + c] * V.get(c, j);
      const sign = Math.sign(dot);
      for (let c = 0; c < d; c++) expect(Math.abs(ours.components[j * d + c] - sign * V.get(c, j))).toBeLessThan(1e-6);
    }
  });

  it('projects rows like ml-pca predict, up to sign', () => {
    const got = pcaTransform({ data: x, rows: n, cols: d }, ours);
    const want = ref.predict(rowsOf(x, n, d), { nComponents: k });
    let scale = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) scale = Math.max(scale, Math.abs(want.get(i, j)));
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += got[i * k + j] * want.get(i, j);
      const sign = Math.sign(dot);
      for (let i = 0; i < n; i++) expect(Math.abs(got[i * k + j] - sign * want.get(i, j)) / scale).toBeLessThan(1e-5);
    }
  });
});
