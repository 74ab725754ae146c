/**
 * PCA that scales to the full item table (91,717 × 1,792): the covariance as a sum of blocked matrix products,
 * then the top-k eigenpairs of the symmetric d×d covariance (src/linalg `symmetricEigen`: Householder + QL +
 * inverse iteration), then one more blocked product for the projection. This is the covariance method of
 * `ml-pca` (centre, XᵀX / (n − 1), eigendecomposition), computed without its per-element `Matrix` accessors.
 *
 * The matrix products run on one of three engines (`ProductBackend`):
 * - `native`: the OpenBLAS addon (src/engine/native.ts, `node native/build.mjs`), every core, float32 sgemm;
 * - `tfjs`: the active TensorFlow.js backend (wasm: SIMD, one thread; the project's kernels make XᵀX flag-free);
 * - `typescript`: src/linalg's float64 kernels, one core.
 * Float32 engines work on centred chunks of `chunkRows` rows and sum the chunk products in float64, so rounding
 * stays at the level of one chunk's float32 sum (measured against the float64 path in tests/features/pca.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { loadNative, type NativeAddon } from '../engine/native';
import { MmctrError } from '../errors';
import { matmul } from '../linalg/matmul';
import { checkView, offsetOf, strideOf, type MatView } from '../linalg/matrix';
import { covarianceFromStats, gramStats, pcaFromCovariance, type PcaModel } from '../linalg/pca';

/** Where the large matrix products run. */
export type ProductBackend = 'native' | 'tfjs' | 'typescript';

/** A backend, or `auto`: native when the addon loads, else tfjs when its active backend is not the JS `cpu` one, else typescript. */
export type ProductBackendChoice = ProductBackend | 'auto';

export const PRODUCT_BACKENDS: readonly ProductBackendChoice[] = ['auto', 'native', 'tfjs', 'typescript'];

export class FeatureError extends MmctrError {}

/** The tfjs backend in use, without starting one (null before any backend started). */
function activeTfjsBackend(): string | null {
  return (tf.engine() as unknown as { backendName: string | null }).backendName ?? null;
}

/** Resolves `auto`, and checks that a named backend can run here (says why not). */
export function resolveProductBackend(choice: ProductBackendChoice = 'auto'): ProductBackend {
  switch (choice) {
    case 'auto': {
      if (loadNative()) return 'native';
      const tfName = activeTfjsBackend();
      return tfName !== null && tfName !== 'cpu' ? 'tfjs' : 'typescript';
    }
    case 'native':
      if (!loadNative()) {
        throw new FeatureError('product backend native: the OpenBLAS addon is not available (build it with: node native/build.mjs)');
      }
      return 'native';
    case 'tfjs':
    case 'typescript':
      return choice;
    default: {
      const never: never = choice;
      throw new FeatureError(`unknown product backend '${String(never)}' (expected ${PRODUCT_BACKENDS.join(', ')})`);
    }
  }
}

/** Column means and covariance of a table: the sufficient statistics of every PCA and whitening here. */
export interface CovarianceStats {
  rows: number;
  dim: number;
  /** Column means, length d. */
  mean: Float64Array;
  /** Centred covariance Σ = (X − 1μᵀ)ᵀ(X − 1μᵀ) / (n − 1), d×d row-major, symmetric. */
  cov: Float64Array;
  /** The engine that computed the products. */
  backend: ProductBackend;
}

export interface ProductOptions {
  /** Engine of the products. Default 'auto'. */
  backend?: ProductBackendChoice;
  /**
   * Rows per float32 chunk product (native, tfjs). Default 2,048: each chunk's sum is float32, the chunks' sums are
   * float64, so a smaller chunk is more precise and a larger one amortises the float64 accumulation.
   */
  chunkRows?: number;
  /** Called with rows done (progress). */
  onRows?: (rowsDone: number) => void;
}

const DEFAULT_CHUNK_ROWS = 2048;

/** Column means in float64. */
function means(x: MatView): Float64Array {
  const s = strideOf(x);
  const o = offsetOf(x);
  const m = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) {
    const base = o + r * s;
    for (let c = 0; c < x.cols; c++) m[c] += x.data[base + c];
  }
  if (x.rows > 0) for (let c = 0; c < x.cols; c++) m[c] /= x.rows;
  return m;
}

/** Rows [r0, r0 + nr) of x minus the mean, as contiguous float32 (nr×d) in `out`. */
function centredChunk(x: MatView, mean: Float64Array, r0: number, nr: number, out: Float32Array): Float32Array {
  const d = x.cols;
  const s = strideOf(x);
  const o = offsetOf(x) + r0 * s;
  for (let r = 0; r < nr; r++) {
    const src = o + r * s;
    const dst = r * d;
    for (let c = 0; c < d; c++) out[dst + c] = x.data[src + c] - mean[c];
  }
  return out.subarray(0, nr * d);
}

/** C (m×n) = op(A)·op(B) through the addon, float32, row-major. */
function nativeGemm(addon: NativeAddon, a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number, transA: boolean): void {
  // Arguments after transB: batch 1, no operand indices, no bias (mode 0), linear activation (0), no PReLU.
  addon.gemm(a, b, c, m, n, k, transA, false, 1, null, null, null, 0, 0, 0, null, 0);
}

/**
 * Σ and μ of the rows of `x` (n×d, any stride). Two passes over x: the means, then the centred chunk products
 * XcᵀXc summed in float64.
 */
export function covariance(x: MatView, opts: ProductOptions = {}): CovarianceStats {
  checkView(x, 'covariance X');
  const n = x.rows;
  const d = x.cols;
  if (n < 2) throw new FeatureError(`covariance needs at least 2 rows, got ${n}`);
  const backend = resolveProductBackend(opts.backend);
  if (backend === 'typescript') {
    // float64 throughout: the uncentred Gram and the centring correction lose nothing that matters in float64.
    const st = gramStats(x, { onRows: opts.onRows });
    const mean = new Float64Array(d);
    for (let c = 0; c < d; c++) mean[c] = st.sums[c] / n;
    return { rows: n, dim: d, mean, cov: covarianceFromStats(st), backend };
  }
  const mean = means(x);
  const chunk = Math.max(1, Math.min(opts.chunkRows ?? DEFAULT_CHUNK_ROWS, n));
  const buf = new Float32Array(chunk * d);
  const acc = new Float64Array(d * d);
  const addon = backend === 'native' ? loadNative()! : undefined;
  const part = addon ? new Float32Array(d * d) : undefined;
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const nr = Math.min(chunk, n - r0);
    const xc = centredChunk(x, mean, r0, nr, buf);
    let g: Float32Array;
    if (addon) {
      nativeGemm(addon, xc, xc, part!, d, d, nr, true);
      g = part!;
    } else {
      g = tf.tidy(() => {
        const t = tf.tensor2d(xc, [nr, d]);
        return tf.matMul(t, t, true, false);
      }).dataSync() as Float32Array;
    }
    for (let i = 0; i < d * d; i++) acc[i] += g[i];
    opts.onRows?.(r0 + nr);
  }
  // Symmetrise (float32 engines need not give bit-symmetric products) and scale.
  const inv = 1 / (n - 1);
  for (let p = 0; p < d; p++) {
    acc[p * d + p] *= inv;
    for (let q = p + 1; q < d; q++) {
      const v = 0.5 * (acc[p * d + q] + acc[q * d + p]) * inv;
      acc[p * d + q] = v;
      acc[q * d + p] = v;
    }
  }
  return { rows: n, dim: d, mean, cov: acc, backend };
}

/** The statistics of columns [c0, c0 + cols): its means and the diagonal block of Σ. */
export function covarianceBlock(st: CovarianceStats, c0: number, cols: number): CovarianceStats {
  if (c0 < 0 || cols < 1 || c0 + cols > st.dim) throw new FeatureError(`covarianceBlock: [${c0}, ${c0 + cols}) outside ${st.dim} columns`);
  const cov = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) cov.set(st.cov.subarray((c0 + i) * st.dim + c0, (c0 + i) * st.dim + c0 + cols), i * cols);
  return { rows: st.rows, dim: cols, mean: st.mean.slice(c0, c0 + cols), cov, backend: st.backend };
}

/** PCA to k dimensions from the statistics (the eigen-decomposition of Σ). */
export function pcaFromCovarianceStats(st: CovarianceStats, k: number): PcaModel {
  return pcaFromCovariance(st.cov, st.mean, st.rows, { k });
}

/** y = (x − μ)·W: a linear map of centred rows, the form every content strategy takes. */
export interface LinearMap {
  /** Input width d. */
  dim: number;
  /** Output width k. */
  k: number;
  /** W, d×k row-major. */
  weights: Float64Array;
}

/** The PCA axes as a linear map (W = Vᵀ). */
export function pcaAsLinearMap(model: PcaModel): LinearMap {
  if (model.scale) throw new FeatureError('pcaAsLinearMap: a PCA fitted on scaled columns is not supported here');
  const { dim: d, k } = model;
  const w = new Float64Array(d * k);
  for (let j = 0; j < k; j++) for (let i = 0; i < d; i++) w[i * k + j] = model.components[j * d + i];
  return { dim: d, k, weights: w };
}

/**
 * Projects the rows of x with several maps of the same input width in one pass over x (one product with the
 * stacked weights): returns one n×k_m float32 table per map.
 */
export function projectRows(x: MatView, mean: Float64Array, maps: LinearMap[], opts: ProductOptions = {}): Float32Array[] {
  checkView(x, 'projectRows X');
  const n = x.rows;
  const d = x.cols;
  if (mean.length !== d) throw new FeatureError(`projectRows: mean has ${mean.length} values for ${d} columns`);
  for (const m of maps) {
    if (m.dim !== d) throw new FeatureError(`projectRows: a map expects ${m.dim} columns, the input has ${d}`);
  }
  const kTot = maps.reduce((s, m) => s + m.k, 0);
  const outs = maps.map((m) => new Float32Array(n * m.k));
  if (n === 0 || kTot === 0) return outs;
  const w64 = new Float64Array(d * kTot);
  let c0 = 0;
  for (const m of maps) {
    for (let i = 0; i < d; i++) for (let j = 0; j < m.k; j++) w64[i * kTot + c0 + j] = m.weights[i * m.k + j];
    c0 += m.k;
  }
  const backend = resolveProductBackend(opts.backend);
  const chunk = Math.max(1, Math.min(opts.chunkRows ?? 8192, n));
  const buf = new Float32Array(chunk * d);
  const w32 = Float32Array.from(w64);
  const addon = backend === 'native' ? loadNative()! : undefined;
  const part = new Float32Array(chunk * kTot);
  const part64 = backend === 'typescript' ? new Float64Array(chunk * kTot) : undefined;
  const wt = backend === 'tfjs' ? tf.tensor2d(w32, [d, kTot]) : undefined;
  try {
    for (let r0 = 0; r0 < n; r0 += chunk) {
      const nr = Math.min(chunk, n - r0);
      const xc = centredChunk(x, mean, r0, nr, buf);
      let y: Float32Array | Float64Array;
      if (addon) {
        nativeGemm(addon, xc, w32, part, nr, kTot, d, false);
        y = part;
      } else if (wt) {
        y = tf.tidy(() => tf.matMul(tf.tensor2d(xc, [nr, d]), wt)).dataSync() as Float32Array;
      } else {
        y = matmul({ data: xc, rows: nr, cols: d }, { data: w64, rows: d, cols: kTot }, part64);
      }
      let base = 0;
      maps.forEach((m, mi) => {
        const out = outs[mi];
        for (let r = 0; r < nr; r++) for (let j = 0; j < m.k; j++) out[(r0 + r) * m.k + j] = y[r * kTot + base + j];
        base += m.k;
      });
      opts.onRows?.(r0 + nr);
    }
  } finally {
    wt?.dispose();
  }
  return outs;
}

/** What is printed and saved about one fitted PCA. */
export interface ExplainedVariance {
  /** What was reduced, e.g. `text`, `text+image`. */
  name: string;
  /** Input width and kept axes. */
  dim: number;
  k: number;
  /** Variance along each kept axis (eigenvalue of Σ), decreasing. */
  variance: number[];
  /** variance / total variance, per axis. */
  ratio: number[];
  /** Share of the total variance the k axes keep. */
  kept: number;
  totalVariance: number;
}

export function explainedVariance(name: string, model: PcaModel): ExplainedVariance {
  const variance = Array.from(model.explainedVariance);
  const total = model.totalVariance;
  const ratio = variance.map((v) => (total > 0 ? v / total : 0));
  return { name, dim: model.dim, k: model.k, variance, ratio, kept: ratio.reduce((s, r) => s + r, 0), totalVariance: total };
}

/** One line: `text+image 1792 → 128: keeps 33.5% of the variance (first axes 4.1%, 3.9%, 3.6%, …)`. */
export function formatExplainedVariance(e: ExplainedVariance): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const head = e.ratio.slice(0, 5).map(pct).join(', ');
  return `${e.name} ${e.dim} → ${e.k}: keeps ${pct(e.kept)} of the variance (first axes ${head}${e.k > 5 ? ', …' : ''})`;
}

export interface FitPcaOptions extends ProductOptions {
  /** Output width. */
  k: number;
}

export interface FastPca {
  model: PcaModel;
  /** n×k float32 projections (x − μ)·V. */
  projections: Float32Array;
  backend: ProductBackend;
  /** Seconds per phase. */
  seconds: { covariance: number; eigen: number; projection: number };
}

/** Covariance, eigen-decomposition and projection of one table (the bench's full-size PCA). */
export function fitPcaFast(x: MatView, opts: FitPcaOptions): FastPca {
  const t0 = performance.now();
  const st = covariance(x, opts);
  const t1 = performance.now();
  const model = pcaFromCovarianceStats(st, opts.k);
  const t2 = performance.now();
  const [projections] = projectRows(x, st.mean, [pcaAsLinearMap(model)], { ...opts, onRows: undefined });
  const t3 = performance.now();
  return {
    model,
    projections,
    backend: st.backend,
    seconds: { covariance: (t1 - t0) / 1000, eigen: (t2 - t1) / 1000, projection: (t3 - t2) / 1000 },
  };
}
