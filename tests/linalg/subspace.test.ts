/**
 * topEigenpairs (Chebyshev-filtered subspace iteration) against the dense solver, on spectra where the largest
 * eigenvalues in magnitude are negative (where power or plain subspace iteration would return the wrong end).
 */
import { describe, expect, it } from 'vitest';
import { symmetricEigen } from '../../src/linalg/eigen';
import { topEigenpairs, type BlockOperator } from '../../src/linalg/subspace';
import { rng } from '../../src/util/rng';

/** A = Q diag(λ) Qᵀ with a random orthogonal Q (Gram–Schmidt of a Gaussian matrix), row-major n×n. */
function withSpectrum(lambdas: number[], seed: number): Float64Array {
  const n = lambdas.length;
  const g = rng(seed);
  const q: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = g.normal();
    for (const u of q) {
      let d = 0;
      for (let i = 0; i < n; i++) d += u[i] * v[i];
      for (let i = 0; i < n; i++) v[i] -= d * u[i];
    }
    const nrm = Math.hypot(...v);
    for (let i = 0; i < n; i++) v[i] /= nrm;
    q.push(v);
  }
  const a = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] += lambdas[k] * q[k][i] * q[k][j];
  return a;
}

const dense = (a: Float64Array, n: number): BlockOperator => (x, b) => {
  const y = new Float64Array(n * b);
  for (let i = 0; i < n; i++) for (let t = 0; t < n; t++) {
    const v = a[i * n + t];
    for (let j = 0; j < b; j++) y[i * b + j] += v * x[t * b + j];
  }
  return y;
};

describe('topEigenpairs', () => {
  const n = 80;
  const g = rng(3);
  // Six wanted eigenvalues 0.9 … 0.4, the rest in [−0.95, 0.3]: the four most negative are larger in magnitude.
  const lambdas = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, -0.95, -0.9, -0.85, -0.8, ...Array.from({ length: n - 10 }, () => g.range(-0.6, 0.3))];
  const a = withSpectrum(lambdas, 11);
  const ref = symmetricEigen(a, n, { k: 8 });

  it('finds the algebraically largest eigenpairs, not the largest in magnitude', () => {
    const r = topEigenpairs(dense(a, n), n, 6, { tolerance: 1e-9, maxIterations: 200 });
    expect(r.converged).toBe(true);
    expect(Array.from(r.values).map((v) => Number(v.toFixed(8)))).toEqual([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]);
    for (let j = 0; j < 6; j++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += r.vectors[i * 6 + j] * ref.vectors[j * n + i];
      expect(Math.abs(dot)).toBeCloseTo(1, 8);
    }
  });

  it('keeps deflated vectors out: the next eigenpairs come instead', () => {
    const top = ref.vectors.slice(0, n); // the eigenvector of 0.9
    const r = topEigenpairs(dense(a, n), n, 3, { tolerance: 1e-9, maxIterations: 200, deflate: top });
    expect(Array.from(r.values).map((v) => Number(v.toFixed(8)))).toEqual([0.8, 0.7, 0.6]);
  });

  it('is deterministic for a seed', () => {
    const x = topEigenpairs(dense(a, n), n, 4, { seed: 5, maxIterations: 7, tolerance: 0 });
    const y = topEigenpairs(dense(a, n), n, 4, { seed: 5, maxIterations: 7, tolerance: 0 });
    expect(Array.from(y.vectors)).toEqual(Array.from(x.vectors));
    expect(x.iterations).toBe(7);
  });

  it('rejects impossible requests with clear errors', () => {
    expect(() => topEigenpairs(dense(a, n), n, 0)).toThrow(/count = 0 must be an integer in \[1, 80\]/);
    expect(() => topEigenpairs(dense(a, n), n, 81)).toThrow(/count = 81/);
    expect(() => topEigenpairs(() => new Float64Array(3), n, 2)).toThrow(/operator returned 3 values for a block of 80 × 10/);
    expect(() => topEigenpairs(() => new Float64Array(n * 10).fill(NaN), n, 2)).toThrow(/non-finite value \(NaN\) at row 0, column 0 of product 1/);
    expect(() => topEigenpairs(dense(a, n), n, 2, { deflate: new Float64Array(7) })).toThrow(/deflate holds 7 values/);
  });
});
