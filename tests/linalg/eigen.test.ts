import { EigenvalueDecomposition, Matrix, QrDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { symmetricEigen } from '../../src/linalg';
import { rng } from '../../src/util/rng';

function symmetric(n: number, seed: number, spectrum?: number[]): Float64Array {
  const r = rng(seed);
  const a = new Float64Array(n * n);
  if (!spectrum) {
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r.normal();
    return a;
  }
  // Q diag(spectrum) Qᵀ with a random orthogonal Q (QR of a Gaussian matrix).
  const g = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g.set(i, j, r.normal());
  const q = new QrDecomposition(g).orthogonalMatrix;
  const m = q.mmul(Matrix.diag(spectrum)).mmul(q.transpose());
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (m.get(i, j) + m.get(j, i)) / 2;
  return a;
}

function checkPairs(a: Float64Array, n: number, k: number) {
  const e = symmetricEigen(a, n, { k });
  const scale = Math.max(...Array.from(e.values, Math.abs), 1e-300);
  for (let j = 0; j < k; j++) {
    const v = e.vectors.subarray(j * n, (j + 1) * n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let q = 0; q < n; q++) s += a[i * n + q] * v[q];
      expect(Math.abs(s - e.values[j] * v[i]) / scale).toBeLessThan(1e-10);
    }
    for (let q = 0; q <= j; q++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += v[i] * e.vectors[q * n + i];
      expect(Math.abs(dot - (q === j ? 1 : 0))).toBeLessThan(1e-10);
    }
  }
  return e;
}

describe('symmetricEigen', () => {
  it.each([1, 2, 3, 10, 60])('matches ml-matrix on a random symmetric matrix of size %i (all pairs)', (n) => {
    const a = symmetric(n, n);
    const e = checkPairs(a, n, n);
    const ref = new EigenvalueDecomposition(new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)))), {
      assumeSymmetric: true,
    });
    const refVals = [...ref.realEigenvalues].sort((x, y) => y - x);
    for (let j = 0; j < n; j++) expect(e.values[j]).toBeCloseTo(refVals[j], 10);
    // Eigenvectors up to sign.
    const V = ref.eigenvectorMatrix;
    for (let j = 0; j < n; j++) {
      const col = ref.realEigenvalues.indexOf(refVals[j]);
      let dot = 0;
      for (let i = 0; i < n; i++) dot += V.get(i, col) * e.vectors[j * n + i];
      expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-8);
    }
  });

  it('handles repeated, clustered and zero eigenvalues (orthonormal vectors, exact values)', () => {
    const spectrum = [5, 5, 5, 3, 1 + 1e-12, 1, 0, 0, 0, -2, -2, 0.5];
    const n = spectrum.length;
    const e = checkPairs(symmetric(n, 9, spectrum), n, n);
    const sorted = [...spectrum].sort((x, y) => y - x);
    for (let j = 0; j < n; j++) expect(e.values[j]).toBeCloseTo(sorted[j], 10);
  });

  it('returns only the top k of a PCA-like spectrum (signal + flat noise bulk)', () => {
    const n = 150;
    const spectrum = Array.from({ length: n }, (_, i) => (i < 10 ? 100 - 5 * i : 1 + 1e-3 * Math.sin(i)));
    const e = checkPairs(symmetric(n, 11, spectrum), n, 40);
    expect(e.values.length).toBe(40);
    expect(e.values[0]).toBeCloseTo(100, 9);
    expect(e.values[39]).toBeGreaterThan(0.99);
  });

  it('diagonal and rank-one inputs', () => {
    const d = new Float64Array([3, 0, 0, 0, 1, 0, 0, 0, 2]);
    const e = symmetricEigen(d, 3);
    expect(Array.from(e.values)).toEqual([3, 2, 1]);
    const u = [1, 2, 2];
    const r1 = Float64Array.from({ length: 9 }, (_, i) => u[Math.floor(i / 3)] * u[i % 3]);
    const f = checkPairs(r1, 3, 3);
    expect(f.values[0]).toBeCloseTo(9, 12);
    expect(Math.abs(f.values[1])).toBeLessThan(1e-12);
    expect(() => symmetricEigen(new Float64Array(3), 2)).toThrow(/expected 2×2/);
    expect(() => symmetricEigen(new Float64Array([1, NaN, NaN, 1]), 2)).toThrow(/NaN/);
  });
});
