/**
 * Whitening (BERT-whitening: Su et al., "Whitening Sentence Representations for Better Semantics and Faster
 * Retrieval", 2021): centre, then multiply by W = U Λ^{-1/2} from Σ = U Λ Uᵀ, keeping the first k columns (the
 * directions of largest variance) as the optional dimension cut. Whitened coordinates have unit variance and no
 * correlation, so cosine similarity stops being dominated by a few high-variance directions.
 *
 * Everything here works on covariances (see pca.ts), so whitening a modality "before" a reduction and whitening
 * the reduced vector "after" it are both linear maps of the centred input, and cost no extra pass over the data.
 */
import { symmetricEigen } from '../linalg/eigen';
import { matmul } from '../linalg/matmul';
import { fixSigns } from '../linalg/pca';
import { FeatureError, type LinearMap } from './pca';

export interface WhiteningOptions {
  /** Columns kept (the dimension cut). Default d (all). */
  k?: number;
  /**
   * Floor added to every eigenvalue before Λ^{-1/2}, relative to the largest eigenvalue. Default 1e-6: directions
   * with (numerically) zero variance stay bounded instead of exploding.
   */
  epsilon?: number;
}

export interface Whitening extends LinearMap {
  /** The k largest eigenvalues of Σ (decreasing): the variances the whitening divides out. */
  eigenvalues: Float64Array;
  /** Trace of Σ (total variance of the input). */
  totalVariance: number;
}

/** W = U_k Λ_k^{-1/2} (d×k) from a d×d covariance. Columns follow the PCA sign convention. */
export function whiteningFromCovariance(cov: Float64Array, d: number, opts: WhiteningOptions = {}): Whitening {
  if (cov.length !== d * d) throw new FeatureError(`whitening: covariance holds ${cov.length} values, expected ${d}×${d}`);
  const k = opts.k ?? d;
  if (!Number.isInteger(k) || k < 1 || k > d) throw new FeatureError(`whitening: k = ${k} must be an integer in [1, ${d}]`);
  const eps = opts.epsilon ?? 1e-6;
  if (!(eps >= 0)) throw new FeatureError(`whitening: epsilon = ${eps} must be ≥ 0`);
  const eig = symmetricEigen(cov, d, { k });
  fixSigns(eig.vectors, k, d);
  let total = 0;
  for (let p = 0; p < d; p++) total += cov[p * d + p];
  const floor = eps * Math.max(eig.values[0], 0) || Number.MIN_VALUE;
  const weights = new Float64Array(d * k);
  const eigenvalues = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const lam = Math.max(eig.values[j], 0);
    eigenvalues[j] = lam;
    const s = 1 / Math.sqrt(lam + floor);
    for (let i = 0; i < d; i++) weights[i * k + j] = eig.vectors[j * d + i] * s;
  }
  return { dim: d, k, weights, eigenvalues, totalVariance: total };
}

/** AᵀΣA (k×k): the covariance of y = (x − μ)·A. */
export function mappedCovariance(map: LinearMap, cov: Float64Array): Float64Array {
  const { dim: d, k } = map;
  if (cov.length !== d * d) throw new FeatureError(`mappedCovariance: covariance holds ${cov.length} values, expected ${d}×${d}`);
  const sa = matmul({ data: cov, rows: d, cols: d }, { data: map.weights, rows: d, cols: k }); // [d, k]
  const at = new Float64Array(k * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) at[j * d + i] = map.weights[i * k + j];
  const out = matmul({ data: at, rows: k, cols: d }, { data: sa, rows: d, cols: k }); // [k, k]
  // Symmetrise away rounding.
  for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) out[p * k + q] = out[q * k + p] = 0.5 * (out[p * k + q] + out[q * k + p]);
  return out;
}

/** A ← A·B for a d×k map and a k×k2 matrix B. */
export function composeMap(map: LinearMap, b: Float64Array, k2: number): LinearMap {
  if (b.length !== map.k * k2) throw new FeatureError(`composeMap: right factor holds ${b.length} values, expected ${map.k}×${k2}`);
  const w = matmul({ data: map.weights, rows: map.dim, cols: map.k }, { data: b, rows: map.k, cols: k2 });
  return { dim: map.dim, k: k2, weights: w };
}

/**
 * Whitening after a reduction: y = (x − μ)·A is replaced by y·U Λ^{-1/2}, the whitening of y's own covariance
 * AᵀΣA (no cut: the output keeps A's width). For a PCA map this divides each axis by its standard deviation.
 */
export function whitenAfter(map: LinearMap, cov: Float64Array, opts: Omit<WhiteningOptions, 'k'> = {}): { map: LinearMap; whitening: Whitening } {
  const inner = whiteningFromCovariance(mappedCovariance(map, cov), map.k, { epsilon: opts.epsilon });
  return { map: composeMap(map, inner.weights, map.k), whitening: inner };
}

/**
 * Whitens rows that are not a linear map of the content table (e.g. Word2Vec or fused vectors): centre by the
 * mean of `rows`, then W from their covariance. `x` is n×d float32; `rows` lists the rows that define the
 * statistics and are transformed (default all); other rows are left as zeros in the output.
 */
export function whitenRows(x: Float32Array, d: number, opts: WhiteningOptions & { rows?: Int32Array } = {}): { vectors: Float32Array; whitening: Whitening } {
  const n = x.length / d;
  if (!Number.isInteger(n)) throw new FeatureError(`whitenRows: ${x.length} values do not split into rows of ${d}`);
  const rows = opts.rows ?? Int32Array.from({ length: n }, (_, i) => i);
  if (rows.length < 2) throw new FeatureError(`whitenRows: needs at least 2 rows, got ${rows.length}`);
  const mean = new Float64Array(d);
  for (const r of rows) for (let c = 0; c < d; c++) mean[c] += x[r * d + c];
  for (let c = 0; c < d; c++) mean[c] /= rows.length;
  const cov = new Float64Array(d * d);
  const v = new Float64Array(d);
  for (const r of rows) {
    for (let c = 0; c < d; c++) v[c] = x[r * d + c] - mean[c];
    for (let p = 0; p < d; p++) {
      const vp = v[p];
      if (vp === 0) continue;
      for (let q = p; q < d; q++) cov[p * d + q] += vp * v[q];
    }
  }
  for (let p = 0; p < d; p++) {
    for (let q = p; q < d; q++) {
      const c = cov[p * d + q] / (rows.length - 1);
      cov[p * d + q] = c;
      cov[q * d + p] = c;
    }
  }
  const w = whiteningFromCovariance(cov, d, opts);
  const out = new Float32Array(n * w.k);
  for (const r of rows) {
    for (let c = 0; c < d; c++) v[c] = x[r * d + c] - mean[c];
    for (let j = 0; j < w.k; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += v[c] * w.weights[c * w.k + j];
      out[r * w.k + j] = s;
    }
  }
  return { vectors: out, whitening: w };
}
