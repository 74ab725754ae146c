/**
 * Eigen-decomposition of a real symmetric matrix, top k eigenpairs.
 *
 * 1. Householder reduction to tridiagonal form T = Qᵀ A Q (lower triangle, fused rank-2 update and matrix–vector
 *    product; ≈ ⅔ n³ multiply-adds).
 * 2. All eigenvalues of T by the implicit QL method with Wilkinson-type shifts (O(n²), no vectors).
 * 3. Eigenvectors of T for the k largest eigenvalues by inverse iteration (tridiagonal LU with partial pivoting),
 *    each re-orthogonalised against the vectors already found, so that clusters and repeated eigenvalues still
 *    give an orthonormal set (the approach of LAPACK's dstein, with full instead of cluster-wise re-orthogonalisation).
 * 4. Back-transformation u = Q y through the stored reflectors (O(n² k)).
 *
 * For n = 1,792 and k = 128 this takes a few seconds, where a full QL with vector accumulation (ml-matrix) takes
 * over a minute.
 */
import { LinalgError } from './matrix';

export interface SymmetricEigen {
  /** Eigenvalues in decreasing order (length k). */
  values: Float64Array;
  /** Eigenvectors as rows: vector j is `vectors[j*n .. (j+1)*n)` (k×n, unit norm, mutually orthogonal). */
  vectors: Float64Array;
  n: number;
  k: number;
}

export interface SymmetricEigenOptions {
  /** How many of the largest eigenpairs to return. Default n (all). */
  k?: number;
  /** Maximum inverse-iteration steps per vector. Default 8. */
  maxInverseIterations?: number;
}

const EPS = 2.220446049250313e-16;

/**
 * Householder tridiagonalisation of a symmetric matrix stored in the lower triangle of `a` (row-major n×n; the
 * upper triangle is ignored and `a` is overwritten). Each step's rank-2 update of the trailing matrix is fused with
 * the next step's symmetric matrix–vector product, so the lower triangle is swept once per step (≈ ⅔ n³
 * multiply-adds).
 */
function tridiagonalize(a: Float64Array, n: number) {
  const d = new Float64Array(n);
  const e = new Float64Array(n); // e[i] couples i and i+1; e[n-1] = 0
  // Reflector k acts on coordinates k+1..n-1: H_k = I − beta[k] v vᵀ, v stored in vs[k*n + (k+1..n-1)].
  const vs = new Float64Array(n * n);
  const beta = new Float64Array(n);
  let p = new Float64Array(n);
  let pNext = new Float64Array(n);

  /** Reflector k from the (already updated) column k below the diagonal. */
  const house = (k: number) => {
    const row = k * n;
    let scale = 0;
    for (let i = k + 1; i < n; i++) scale = Math.max(scale, Math.abs(a[i * n + k]));
    if (scale === 0) {
      e[k] = 0;
      beta[k] = 0;
      return;
    }
    let sigma = 0;
    for (let i = k + 1; i < n; i++) {
      const x = a[i * n + k] / scale;
      vs[row + i] = x;
      sigma += x * x;
    }
    const x0 = vs[row + k + 1];
    const norm = Math.sqrt(sigma);
    const alpha = x0 >= 0 ? -norm : norm;
    vs[row + k + 1] = x0 - alpha;
    const vtv = sigma - x0 * x0 + (x0 - alpha) * (x0 - alpha);
    e[k] = alpha * scale;
    beta[k] = vtv === 0 ? 0 : 2 / vtv;
  };

  /** out = beta[k] · S v_k over the trailing block (k+1..n-1), from the lower triangle. */
  const matvec = (k: number, out: Float64Array) => {
    const row = k * n;
    out.fill(0, k + 1, n);
    for (let i = k + 1; i < n; i++) {
      const ri = i * n;
      const vi = vs[row + i];
      let s = 0;
      for (let j = k + 1; j < i; j++) {
        const aij = a[ri + j];
        s += aij * vs[row + j];
        out[j] += aij * vi;
      }
      out[i] += s + a[ri + i] * vi;
    }
    for (let i = k + 1; i < n; i++) out[i] *= beta[k];
  };

  let haveP = false;
  for (let k = 0; k < n - 2; k++) {
    d[k] = a[k * n + k];
    if (!haveP) {
      house(k);
      if (beta[k] !== 0) matvec(k, p);
    }
    haveP = false;
    const b = beta[k];
    if (b === 0) continue;
    const row = k * n;
    // w = p − (b pᵀv / 2) v, kept in p.
    let pv = 0;
    for (let i = k + 1; i < n; i++) pv += p[i] * vs[row + i];
    const kk = (b * pv) / 2;
    for (let i = k + 1; i < n; i++) p[i] -= kk * vs[row + i];
    // Update column c = k+1 first: the next reflector is built from it.
    const c = k + 1;
    const vc = vs[row + c];
    const wc = p[c];
    for (let i = c; i < n; i++) a[i * n + c] -= vs[row + i] * wc + p[i] * vc;
    const next = c <= n - 3;
    if (next) house(c);
    const fuse = next && beta[c] !== 0;
    const nrow = c * n;
    if (fuse) pNext.fill(0, c + 1, n);
    if (fuse) {
      // Two rows per sweep: the shared vectors (v, w, u, pNext) are loaded once for both.
      let i = c + 1;
      for (; i + 1 < n; i += 2) {
        const ri = i * n;
        const rj = ri + n;
        const vi = vs[row + i];
        const wi = p[i];
        const ui = vs[nrow + i];
        const vj = vs[row + i + 1];
        const wj = p[i + 1];
        const uj = vs[nrow + i + 1];
        let si = 0;
        let sj = 0;
        for (let j = c + 1; j < i; j++) {
          const pj = p[j];
          const vsj = vs[row + j];
          const uu = vs[nrow + j];
          const ai = a[ri + j] - (vi * pj + wi * vsj);
          const aj = a[rj + j] - (vj * pj + wj * vsj);
          a[ri + j] = ai;
          a[rj + j] = aj;
          si += ai * uu;
          sj += aj * uu;
          pNext[j] += ai * ui + aj * uj;
        }
        // Column i of both rows: the diagonal of row i and the sub-diagonal entry of row i+1.
        const aii = a[ri + i] - 2 * vi * wi;
        a[ri + i] = aii;
        const aji = a[rj + i] - (vj * wi + wj * vi);
        a[rj + i] = aji;
        const ajj = a[rj + i + 1] - 2 * vj * wj;
        a[rj + i + 1] = ajj;
        pNext[i] += si + aii * ui + aji * uj;
        pNext[i + 1] += sj + aji * ui + ajj * uj;
      }
      for (; i < n; i++) {
        const ri = i * n;
        const vi = vs[row + i];
        const wi = p[i];
        const ui = vs[nrow + i];
        let si = 0;
        for (let j = c + 1; j < i; j++) {
          const aij = a[ri + j] - (vi * p[j] + wi * vs[row + j]);
          a[ri + j] = aij;
          si += aij * vs[nrow + j];
          pNext[j] += aij * ui;
        }
        const aii = a[ri + i] - 2 * vi * wi;
        a[ri + i] = aii;
        pNext[i] += si + aii * ui;
      }
    } else {
      for (let i = c + 1; i < n; i++) {
        const ri = i * n;
        const vi = vs[row + i];
        const wi = p[i];
        for (let j = c + 1; j <= i; j++) a[ri + j] -= vi * p[j] + wi * vs[row + j];
      }
    }
    if (fuse) {
      const bc = beta[c];
      for (let i = c + 1; i < n; i++) pNext[i] *= bc;
      const t = p;
      p = pNext;
      pNext = t;
    }
    haveP = next;
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2];
    e[n - 2] = a[(n - 1) * n + n - 2];
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + n - 1];
  return { d, e, vs, beta };
}

/** Eigenvalues of the symmetric tridiagonal (d, e) by implicit QL; d, e are destroyed. */
function tridiagonalEigenvalues(d: Float64Array, e: Float64Array, tnorm: number): Float64Array {
  const n = d.length;
  // Couplings below eps·‖T‖ are negligible (the reduction already made errors of that size); without this floor,
  // a block of (numerically) zero eigenvalues never deflates.
  const floor = EPS * tnorm;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= EPS * dd || Math.abs(e[m]) <= floor) break;
      }
      if (m !== l) {
        if (iter++ === 100) throw new LinalgError(`symmetricEigen: QL did not converge for eigenvalue ${l}`);
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        let underflow = false;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            underflow = true;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (underflow) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
  return d;
}

/**
 * Solves (T − λI) y = b in place for the tridiagonal (d, e), with partial pivoting (LAPACK dgttrf/dgttrs); zero
 * pivots are replaced by `tiny` so that an exact eigenvalue still gives a (huge) solution.
 */
class ShiftedTridiagonalSolver {
  private readonly dg: Float64Array;
  private readonly dl: Float64Array;
  private readonly du: Float64Array;
  private readonly du2: Float64Array;
  private readonly swap: Uint8Array;
  constructor(
    private readonly d: Float64Array,
    private readonly e: Float64Array,
    private readonly tiny: number,
  ) {
    const n = d.length;
    this.dg = new Float64Array(n);
    this.dl = new Float64Array(Math.max(n - 1, 0));
    this.du = new Float64Array(Math.max(n - 1, 0));
    this.du2 = new Float64Array(Math.max(n - 2, 0));
    this.swap = new Uint8Array(n);
  }

  factor(lambda: number): void {
    const n = this.d.length;
    const { dg, dl, du, du2, swap } = this;
    for (let i = 0; i < n; i++) dg[i] = this.d[i] - lambda;
    for (let i = 0; i < n - 1; i++) {
      dl[i] = this.e[i];
      du[i] = this.e[i];
    }
    du2.fill(0);
    swap.fill(0);
    for (let i = 0; i < n - 1; i++) {
      if (Math.abs(dg[i]) >= Math.abs(dl[i])) {
        if (dg[i] === 0) dg[i] = this.tiny;
        const f = dl[i] / dg[i];
        dl[i] = f;
        dg[i + 1] -= f * du[i];
      } else {
        const f = dg[i] / dl[i];
        dg[i] = dl[i];
        dl[i] = f;
        const t = du[i];
        du[i] = dg[i + 1];
        dg[i + 1] = t - f * dg[i + 1];
        if (i < n - 2) {
          du2[i] = du[i + 1];
          du[i + 1] = -f * du[i + 1];
        }
        swap[i] = 1;
      }
    }
    for (let i = 0; i < n; i++) if (Math.abs(dg[i]) < this.tiny) dg[i] = dg[i] >= 0 ? this.tiny : -this.tiny;
  }

  solve(b: Float64Array): void {
    const n = this.d.length;
    const { dg, dl, du, du2, swap } = this;
    for (let i = 0; i < n - 1; i++) {
      if (swap[i] === 0) b[i + 1] -= dl[i] * b[i];
      else {
        const t = b[i];
        b[i] = b[i + 1];
        b[i + 1] = t - dl[i] * b[i];
      }
    }
    b[n - 1] /= dg[n - 1];
    if (n >= 2) b[n - 2] = (b[n - 2] - du[n - 2] * b[n - 1]) / dg[n - 2];
    for (let i = n - 3; i >= 0; i--) b[i] = (b[i] - du[i] * b[i + 1] - du2[i] * b[i + 2]) / dg[i];
  }
}

/** Deterministic start vectors for inverse iteration (a fixed LCG: results must not depend on any seed). */
function startVector(out: Float64Array, j: number): void {
  let s = (0x9e3779b9 ^ Math.imul(j + 1, 0x85ebca6b)) >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
}

function normalize(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const nrm = Math.sqrt(s);
  if (nrm > 0) for (let i = 0; i < v.length; i++) v[i] /= nrm;
  return nrm;
}

/**
 * Top-k eigenpairs of the symmetric n×n matrix `a` (row-major; only read, a copy is worked on).
 * Only the lower triangle is used: symmetry is assumed, not checked.
 */
export function symmetricEigen(a: Float64Array, n: number, opts: SymmetricEigenOptions = {}): SymmetricEigen {
  if (a.length !== n * n) throw new LinalgError(`symmetricEigen: matrix holds ${a.length} values, expected ${n}×${n}`);
  const k = opts.k ?? n;
  if (!(k >= 0 && k <= n)) throw new LinalgError(`symmetricEigen: k = ${k} outside [0, ${n}]`);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new LinalgError(`symmetricEigen: entry (${Math.floor(i / n)}, ${i % n}) is ${a[i]}`);
  }
  const maxIt = opts.maxInverseIterations ?? 8;
  const work = Float64Array.from(a);
  const { d, e, vs, beta } = tridiagonalize(work, n);
  let tnorm = 0;
  for (let i = 0; i < n; i++) tnorm = Math.max(tnorm, Math.abs(d[i]) + Math.abs(e[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0));
  const lambdas = tridiagonalEigenvalues(Float64Array.from(d), Float64Array.from(e), tnorm);
  const order = Array.from(lambdas.keys()).sort((x, y) => lambdas[y] - lambdas[x]);
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * n);
  if (n === 0 || k === 0) return { values, vectors, n, k };
  const tiny = Math.max(tnorm, Number.MIN_VALUE) * EPS;
  const solver = new ShiftedTridiagonalSolver(d, e, tiny);
  const y = new Float64Array(n);
  const prev = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    const lam = lambdas[order[j]];
    values[j] = lam;
    solver.factor(lam);
    startVector(y, j);
    normalize(y);
    for (let it = 0; it < maxIt; it++) {
      prev.set(y);
      solver.solve(y);
      // Re-orthogonalise against the vectors of T found so far (twice: "twice is enough").
      for (let pass = 0; pass < 2; pass++) {
        for (let q = 0; q < j; q++) {
          const off = q * n;
          let dot = 0;
          for (let i = 0; i < n; i++) dot += vectors[off + i] * y[i];
          for (let i = 0; i < n; i++) y[i] -= dot * vectors[off + i];
        }
      }
      const growth = normalize(y);
      if (!(growth > 0)) startVector(y, j + 7919 * (it + 1));
      let dot = 0;
      for (let i = 0; i < n; i++) dot += y[i] * prev[i];
      if (it >= 1 && Math.abs(1 - Math.abs(dot)) < 1e-13) break;
    }
    vectors.set(y, j * n);
  }
  // u = H_0 H_1 … H_{n-3} y : apply the reflectors from the last to the first.
  for (let r = n - 3; r >= 0; r--) {
    const b = beta[r];
    if (b === 0) continue;
    const row = r * n;
    for (let j = 0; j < k; j++) {
      const off = j * n;
      let dot = 0;
      for (let i = r + 1; i < n; i++) dot += vs[row + i] * vectors[off + i];
      const f = b * dot;
      if (f !== 0) for (let i = r + 1; i < n; i++) vectors[off + i] -= f * vs[row + i];
    }
  }
  return { values, vectors, n, k };
}
