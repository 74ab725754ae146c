/**
 * Least-squares residual of one item table on another: Y − [1 ‖ X]·B with B = argmin ‖Y − [1 ‖ X]·B‖². Used by
 * `fuse` with `collaborative: 'residual'` to take out of the Word2Vec vectors what the content vectors already
 * predict (the topic), so that the collaborative part carries what content does not (the co-watching community).
 *
 * Solved on centred data (the intercept), through the eigen-decomposition of the Gram matrix XcᵀXc (src/linalg): a
 * pseudo-inverse that drops directions with eigenvalue below 1e-10 of the largest, so collinear content columns
 * (e.g. a PCA table with fewer items than columns) give the minimum-norm solution instead of failing.
 */
import { gram, matmul, symmetricEigen, transpose } from '../linalg';
import { FeatureError } from './pca';

/** Relative eigenvalue floor of the pseudo-inverse. */
const RCOND = 1e-10;

/**
 * Residual of y [n × dy] on x [n × dx] with intercept, fitted and returned on the rows where y is non-zero (the
 * padding row 0 and items with no collaborative vector stay zero). Returns a new [n × dy] float32 array whose
 * fitted rows have mean 0 and are orthogonal to every column of x over those rows.
 */
export function residualOn(y: Float32Array, dy: number, x: Float32Array, dx: number): Float32Array {
  const n = y.length / dy;
  if (!Number.isInteger(n) || x.length !== n * dx) {
    throw new FeatureError(`residual: y holds ${y.length / dy} rows of ${dy}, x ${x.length / dx} rows of ${dx}`);
  }
  const keep: number[] = [];
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < dy; j++) s += y[r * dy + j] * y[r * dy + j];
    if (s > 0) keep.push(r);
  }
  const out = new Float32Array(n * dy);
  const m = keep.length;
  if (m === 0) return out;
  // Centred copies [m × dx], [m × dy] in float64.
  const xc = new Float64Array(m * dx);
  const yc = new Float64Array(m * dy);
  const mx = new Float64Array(dx);
  const my = new Float64Array(dy);
  keep.forEach((r, i) => {
    for (let j = 0; j < dx; j++) mx[j] += (xc[i * dx + j] = x[r * dx + j]);
    for (let j = 0; j < dy; j++) my[j] += (yc[i * dy + j] = y[r * dy + j]);
  });
  for (let j = 0; j < dx; j++) mx[j] /= m;
  for (let j = 0; j < dy; j++) my[j] /= m;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < dx; j++) xc[i * dx + j] -= mx[j];
    for (let j = 0; j < dy; j++) yc[i * dy + j] -= my[j];
  }
  const g = gram({ data: xc, rows: m, cols: dx }); // [dx × dx]
  const xty = matmul({ data: transpose(xc, m, dx), rows: dx, cols: m }, { data: yc, rows: m, cols: dy }); // [dx × dy]
  const eig = symmetricEigen(g, dx);
  // B = V Λ⁺ Vᵀ XᵀY, V's columns = eig.vectors' rows.
  const b = new Float64Array(dx * dy);
  const floor = Math.max(0, eig.values[0] ?? 0) * RCOND;
  const t = new Float64Array(dy);
  for (let e = 0; e < eig.k; e++) {
    const lambda = eig.values[e];
    if (!(lambda > floor) || lambda <= 0) continue;
    const v = eig.vectors.subarray(e * dx, (e + 1) * dx);
    t.fill(0);
    for (let i = 0; i < dx; i++) {
      const vi = v[i];
      if (vi === 0) continue;
      for (let j = 0; j < dy; j++) t[j] += vi * xty[i * dy + j];
    }
    for (let i = 0; i < dx; i++) {
      const vi = v[i] / lambda;
      for (let j = 0; j < dy; j++) b[i * dy + j] += vi * t[j];
    }
  }
  const fit = matmul({ data: xc, rows: m, cols: dx }, { data: b, rows: dx, cols: dy }); // [m × dy]
  keep.forEach((r, i) => {
    for (let j = 0; j < dy; j++) out[r * dy + j] = yc[i * dy + j] - fit[i * dy + j];
  });
  return out;
}
