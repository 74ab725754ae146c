/**
 * The largest eigenpairs of a large sparse symmetric operator that is only available as a product Y = A·X on a
 * block of vectors: Chebyshev-filtered subspace iteration (Zhou & Saad, "A Chebyshev–Davidson algorithm for large
 * symmetric eigenproblems", SIAM J. Matrix Anal. Appl. 29, 2007; the filtered subspace iteration of their §2).
 *
 * Each outer step: Rayleigh–Ritz on the current orthonormal block (a small dense eigenproblem, eigen.ts), then a
 * Chebyshev polynomial of the operator that damps the interval [lower, cut] (cut = the smallest Ritz value of the
 * block) and grows everything above it, then re-orthonormalisation. Eigenvalues are taken in algebraic order (the
 * largest, not the largest in magnitude), which plain power/subspace iteration cannot do when the spectrum has large
 * negative eigenvalues — the normalised co-occurrence matrices of communities.ts do.
 *
 * Known eigenvectors (e.g. the trivial √degree vector of a normalised adjacency) can be deflated: the block is kept
 * orthogonal to them, so they are neither returned nor spend a slot.
 */
import { symmetricEigen } from './eigen';
import { LinalgError } from './matrix';
import { rng } from '../util/rng';

/** Y = A·X for a row-major block X [n × b]; must not modify X. */
export type BlockOperator = (x: Float64Array, b: number) => Float64Array;

export interface TopEigenOptions {
  /** Vectors iterated (≥ count). Default count + max(8, ⌈count / 4⌉), at most n − deflated. */
  block: number;
  /** Degree of the Chebyshev filter per outer step. Default 8. */
  degree: number;
  /** Most outer steps. Default 60. */
  maxIterations: number;
  /** Stop when every wanted pair has ‖A·v − θ·v‖ ≤ tolerance (v unit). Default 1e-4. */
  tolerance: number;
  /** A lower bound of the spectrum (the filter damps [lower, cut]). Default −1 (normalised adjacencies). */
  lower: number;
  /** Seed of the random start block. Default 1. */
  seed: number;
  /** Unit vectors [m × n] (rows) kept out of the block. Default none. */
  deflate: Float64Array | null;
  /** Called after each outer step with its index and the largest residual of the wanted pairs. */
  onIteration: ((iteration: number, residual: number) => void) | null;
}

export const DEFAULT_TOP_EIGEN_OPTIONS: Readonly<Omit<TopEigenOptions, 'block'>> = Object.freeze({
  degree: 8,
  maxIterations: 60,
  tolerance: 1e-4,
  lower: -1,
  seed: 1,
  deflate: null,
  onIteration: null,
});

export interface TopEigenResult {
  /** The `count` largest eigenvalues found, decreasing. */
  values: Float64Array;
  /** Their eigenvectors, row-major [n × count] (column j is the vector of values[j]). */
  vectors: Float64Array;
  n: number;
  count: number;
  /** Outer steps run. */
  iterations: number;
  /** Largest residual ‖A·v − θ·v‖ of the returned pairs. */
  residual: number;
  /** True when that residual reached the tolerance. */
  converged: boolean;
}

/** Removes from each column of x [n × b] its components along the rows of `basis` [m × n]. */
function projectOut(x: Float64Array, n: number, b: number, basis: Float64Array | null): void {
  if (!basis) return;
  const m = basis.length / n;
  const dots = new Float64Array(b);
  for (let q = 0; q < m; q++) {
    dots.fill(0);
    const off = q * n;
    for (let i = 0; i < n; i++) {
      const v = basis[off + i];
      if (v === 0) continue;
      const row = i * b;
      for (let j = 0; j < b; j++) dots[j] += v * x[row + j];
    }
    for (let i = 0; i < n; i++) {
      const v = basis[off + i];
      if (v === 0) continue;
      const row = i * b;
      for (let j = 0; j < b; j++) x[row + j] -= v * dots[j];
    }
  }
}

/**
 * Orthonormalises the columns of x [n × b] in place (modified Gram–Schmidt, twice). A column that vanishes is
 * replaced by a fresh random one (then orthonormalised), so the block keeps its rank.
 */
function orthonormalize(x: Float64Array, n: number, b: number, refill: () => number, deflate: Float64Array | null): void {
  const col = new Float64Array(n);
  for (let j = 0; j < b; j++) {
    for (let attempt = 0; ; attempt++) {
      for (let i = 0; i < n; i++) col[i] = x[i * b + j];
      const before = Math.sqrt(col.reduce((s, v) => s + v * v, 0));
      for (let pass = 0; pass < 2; pass++) {
        for (let q = 0; q < j; q++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += x[i * b + q] * col[i];
          for (let i = 0; i < n; i++) col[i] -= dot * x[i * b + q];
        }
      }
      const after = Math.sqrt(col.reduce((s, v) => s + v * v, 0));
      if (after > 1e-10 * Math.max(before, Number.MIN_VALUE) && after > 0) {
        for (let i = 0; i < n; i++) x[i * b + j] = col[i] / after;
        break;
      }
      if (attempt > 5) throw new LinalgError(`topEigenpairs: cannot extend the block to ${b} independent vectors in ${n} dimensions`);
      const fresh = new Float64Array(n);
      for (let i = 0; i < n; i++) fresh[i] = refill();
      projectOut(fresh, n, 1, deflate);
      for (let i = 0; i < n; i++) x[i * b + j] = fresh[i];
    }
  }
}

/** The `count` algebraically largest eigenpairs of the symmetric operator `apply` on R^n. */
export function topEigenpairs(apply: BlockOperator, n: number, count: number, options: Partial<TopEigenOptions> = {}): TopEigenResult {
  const o = { ...DEFAULT_TOP_EIGEN_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as TopEigenOptions;
  const deflated = o.deflate ? o.deflate.length / n : 0;
  if (o.deflate && o.deflate.length % n !== 0) throw new LinalgError(`topEigenpairs: deflate holds ${o.deflate.length} values, not rows of ${n}`);
  const room = n - deflated;
  if (!Number.isInteger(count) || count < 1 || count > room) throw new LinalgError(`topEigenpairs: count = ${count} must be an integer in [1, ${room}]`);
  const b = Math.min(room, options.block ?? count + Math.max(8, Math.ceil(count / 4)));
  if (!Number.isInteger(b) || b < count) throw new LinalgError(`topEigenpairs: block = ${b} must be an integer ≥ count (${count})`);
  if (!(o.degree >= 1 && Number.isInteger(o.degree))) throw new LinalgError(`topEigenpairs: degree = ${o.degree} must be an integer ≥ 1`);
  const g = rng(`linalg/subspace/${o.seed}`);
  const normal = () => g.normal();
  let x: Float64Array = new Float64Array(n * b);
  for (let i = 0; i < x.length; i++) x[i] = normal();
  projectOut(x, n, b, o.deflate);
  orthonormalize(x, n, b, normal, o.deflate);

  const values = new Float64Array(count);
  let residual = Infinity;
  let iterations = 0;
  let applied = 0;
  const op = (m: Float64Array): Float64Array => {
    const y = apply(m, b);
    applied++;
    if (y.length !== n * b) throw new LinalgError(`topEigenpairs: the operator returned ${y.length} values for a block of ${n} × ${b}`);
    for (let i = 0; i < y.length; i++) {
      if (!Number.isFinite(y[i])) throw new LinalgError(`topEigenpairs: the operator produced a non-finite value (${y[i]}) at row ${Math.floor(i / b)}, column ${i % b} of product ${applied}`);
    }
    return y;
  };
  const rotate = (m: Float64Array, q: Float64Array): Float64Array => {
    // m [n × b] · Q [b × b] where Q's columns are the eigenvectors (eigen.ts gives them as rows: q[j*b + i]).
    const out = new Float64Array(n * b);
    for (let i = 0; i < n; i++) {
      const row = i * b;
      for (let j = 0; j < b; j++) {
        let s = 0;
        const qj = j * b;
        for (let t = 0; t < b; t++) s += m[row + t] * q[qj + t];
        out[row + j] = s;
      }
    }
    return out;
  };
  for (;;) {
    // Rayleigh–Ritz.
    let y = op(x);
    const h = new Float64Array(b * b);
    for (let i = 0; i < n; i++) {
      const row = i * b;
      for (let p = 0; p < b; p++) {
        const xp = x[row + p];
        if (xp === 0) continue;
        for (let q = 0; q <= p; q++) h[p * b + q] += xp * y[row + q];
      }
    }
    for (let p = 0; p < b; p++) {
      for (let q = 0; q < p; q++) {
        const s = 0.5 * (h[p * b + q] + h[q * b + p]);
        h[p * b + q] = s;
        h[q * b + p] = s;
      }
    }
    const eig = symmetricEigen(h, b);
    x = rotate(x, eig.vectors);
    y = rotate(y, eig.vectors);
    residual = 0;
    for (let j = 0; j < count; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (y[i * b + j] - eig.values[j] * x[i * b + j]) ** 2;
      residual = Math.max(residual, Math.sqrt(s));
      values[j] = eig.values[j];
    }
    iterations++;
    o.onIteration?.(iterations, residual);
    if (residual <= o.tolerance || iterations >= o.maxIterations) break;
    // Chebyshev filter on [lower, cut]: T_m((A − c)/e) applied to the block, by the three-term recurrence.
    const cut = eig.values[b - 1];
    const lower = Math.min(o.lower, cut - 1e-9);
    const e = (cut - lower) / 2;
    const c = (cut + lower) / 2;
    let prev = x;
    let cur = new Float64Array(n * b);
    for (let i = 0; i < cur.length; i++) cur[i] = (y[i] - c * x[i]) / e;
    for (let k = 2; k <= o.degree; k++) {
      const ay = op(cur);
      const next = new Float64Array(n * b);
      for (let i = 0; i < next.length; i++) next[i] = (2 * (ay[i] - c * cur[i])) / e - prev[i];
      prev = cur;
      cur = next;
    }
    projectOut(cur, n, b, o.deflate);
    orthonormalize(cur, n, b, normal, o.deflate);
    x = cur;
  }
  const vectors = new Float64Array(n * count);
  for (let i = 0; i < n; i++) for (let j = 0; j < count; j++) vectors[i * count + j] = x[i * b + j];
  return { values, vectors, n, count, iterations, residual, converged: residual <= o.tolerance };
}
