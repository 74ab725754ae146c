/**
 * PCA by the covariance method: Gram matrix XᵀX (one pass over the rows, see `gram`), centring by the column sums,
 * top-k eigenvectors (`symmetricEigen`), projection (x − mean) · V. The same Gram serves several PCAs: a column
 * block of it is the Gram of that block, and per-column scaling is a rescaling of it, so PCA of [text ‖ image], of
 * text alone, of image alone and of a re-weighted concatenation all cost one pass.
 *
 * Components follow a fixed sign convention (the largest-magnitude entry of each component is positive), so
 * results are deterministic; compare with another PCA up to sign.
 */
import { symmetricEigen } from './eigen';
import { gram, matmul } from './matmul';
import { checkView, LinalgError, offsetOf, strideOf, type MatView } from './matrix';

export interface PcaModel {
  /** Input width d. */
  dim: number;
  /** Output width k. */
  k: number;
  /** Column means of the (scaled) input, length d. */
  mean: Float64Array;
  /** Per-column factor applied to the input before centring (length d), or null for none. */
  scale: Float64Array | null;
  /** Principal axes as rows (k×d, unit norm), in the scaled input space. */
  components: Float64Array;
  /** Variance along each axis (eigenvalue / (n − 1)), decreasing. */
  explainedVariance: Float64Array;
  /** Total variance of the (scaled) input (trace of the covariance). */
  totalVariance: number;
  /** Rows the model was fitted on. */
  rows: number;
}

/** Sufficient statistics of a table for PCA: n, column sums and the uncentred Gram XᵀX. */
export interface GramStats {
  rows: number;
  dim: number;
  /** Column sums, length d. */
  sums: Float64Array;
  /** XᵀX, d×d row-major. */
  gram: Float64Array;
}

export interface GramStatsOptions {
  /** Called with rows done (progress). */
  onRows?: (rowsDone: number) => void;
}

/** One pass over the rows: n, column sums and XᵀX. */
export function gramStats(x: MatView, opts: GramStatsOptions = {}): GramStats {
  checkView(x, 'gramStats X');
  const sums = new Float64Array(x.cols);
  const s = strideOf(x);
  const o = offsetOf(x);
  for (let r = 0; r < x.rows; r++) {
    const base = o + r * s;
    for (let c = 0; c < x.cols; c++) sums[c] += x.data[base + c];
  }
  return { rows: x.rows, dim: x.cols, sums, gram: gram(x, undefined, opts.onRows) };
}

/** The statistics of columns [c0, c0 + cols). */
export function gramStatsBlock(st: GramStats, c0: number, cols: number): GramStats {
  if (c0 < 0 || c0 + cols > st.dim) throw new LinalgError(`gramStatsBlock: [${c0}, ${c0 + cols}) outside ${st.dim} columns`);
  const g = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) g.set(st.gram.subarray((c0 + i) * st.dim + c0, (c0 + i) * st.dim + c0 + cols), i * cols);
  return { rows: st.rows, dim: cols, sums: st.sums.slice(c0, c0 + cols), gram: g };
}

/** Centred covariance (divided by n − 1) from the statistics, with optional per-column scaling. */
export function covarianceFromStats(st: GramStats, scale: Float64Array | null = null): Float64Array {
  const { rows: n, dim: d } = st;
  if (n < 2) throw new LinalgError(`PCA needs at least 2 rows, got ${n}`);
  const cov = new Float64Array(d * d);
  for (let p = 0; p < d; p++) {
    const sp = scale ? scale[p] : 1;
    const mp = st.sums[p] / n;
    for (let q = 0; q < d; q++) {
      const sq = scale ? scale[q] : 1;
      cov[p * d + q] = ((st.gram[p * d + q] - n * mp * (st.sums[q] / n)) * sp * sq) / (n - 1);
    }
  }
  return cov;
}

export interface PcaOptions {
  /** Output width. */
  k: number;
  /** Per-column factor applied before centring (e.g. per-modality standardisation). Default none. */
  scale?: Float64Array | null;
}

/** PCA from precomputed statistics. */
export function pcaFromStats(st: GramStats, opts: PcaOptions): PcaModel {
  const d = st.dim;
  const scale = opts.scale ?? null;
  if (scale && scale.length !== d) throw new LinalgError(`PCA: scale has ${scale.length} values for ${d} columns`);
  const mean = new Float64Array(d);
  for (let p = 0; p < d; p++) mean[p] = (st.sums[p] / st.rows) * (scale ? scale[p] : 1);
  if (st.rows < 2) throw new LinalgError(`PCA needs at least 2 rows, got ${st.rows}`);
  return pcaFromCovariance(covarianceFromStats(st, scale), mean, st.rows, opts);
}

/**
 * PCA from a covariance matrix (d×d, divided by n − 1, already in the scaled space when `opts.scale` is given) and
 * the column means of the scaled input: the top-k eigenpairs, with the sign convention of this file.
 */
export function pcaFromCovariance(cov: Float64Array, mean: Float64Array, rows: number, opts: PcaOptions): PcaModel {
  const { k } = opts;
  const d = mean.length;
  if (cov.length !== d * d) throw new LinalgError(`PCA: covariance holds ${cov.length} values, expected ${d}×${d}`);
  if (!(k >= 1 && k <= d)) throw new LinalgError(`PCA: k = ${k} must be in [1, ${d}]`);
  const scale = opts.scale ?? null;
  if (scale && scale.length !== d) throw new LinalgError(`PCA: scale has ${scale.length} values for ${d} columns`);
  let total = 0;
  for (let p = 0; p < d; p++) total += cov[p * d + p];
  const eig = symmetricEigen(cov, d, { k });
  const comps = eig.vectors;
  fixSigns(comps, k, d);
  const explainedVariance = new Float64Array(k);
  for (let j = 0; j < k; j++) explainedVariance[j] = Math.max(0, eig.values[j]);
  return { dim: d, k, mean, scale, components: comps, explainedVariance, totalVariance: total, rows };
}

/**
 * PCA of the rows of `x` to k dimensions. With fewer rows than columns it works on the n×n row Gram (the "dual"
 * form, same result), so a 400 × 1,792 table does not pay for a 1,792² eigenproblem.
 */
export function fitPca(x: MatView, opts: PcaOptions): PcaModel {
  return x.rows < x.cols ? fitPcaDual(x, opts) : pcaFromStats(gramStats(x), opts);
}

/**
 * Dual PCA: eigenvectors u_j of K = Y Yᵀ (Y = centred, scaled rows) give the axes v_j = Yᵀ u_j / sqrt(λ_j).
 * Axes with a zero eigenvalue (k ≥ rank) are left as zero vectors.
 */
export function fitPcaDual(x: MatView, opts: PcaOptions): PcaModel {
  checkView(x, 'fitPcaDual X');
  const { k } = opts;
  const n = x.rows;
  const d = x.cols;
  if (n < 2) throw new LinalgError(`PCA needs at least 2 rows, got ${n}`);
  if (!(k >= 1 && k <= Math.min(n, d))) throw new LinalgError(`PCA: k = ${k} must be in [1, ${Math.min(n, d)}]`);
  const scale = opts.scale ?? null;
  if (scale && scale.length !== d) throw new LinalgError(`PCA: scale has ${scale.length} values for ${d} columns`);
  const s = strideOf(x);
  const o = offsetOf(x);
  const raw = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) raw[c] += x.data[o + r * s + c];
  const mean = new Float64Array(d);
  for (let c = 0; c < d; c++) mean[c] = (raw[c] / n) * (scale ? scale[c] : 1);
  const y = new Float64Array(n * d);
  const yt = new Float64Array(d * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d; c++) {
      const v = x.data[o + r * s + c] * (scale ? scale[c] : 1) - mean[c];
      y[r * d + c] = v;
      yt[c * n + r] = v;
    }
  }
  const kern = matmul({ data: y, rows: n, cols: d }, { data: yt, rows: d, cols: n });
  let trace = 0;
  for (let r = 0; r < n; r++) trace += kern[r * n + r];
  const eig = symmetricEigen(kern, n, { k });
  const comps = new Float64Array(k * d);
  const explainedVariance = new Float64Array(k);
  const tiny = 1e-12 * Math.max(trace, Number.MIN_VALUE);
  for (let j = 0; j < k; j++) {
    const lam = eig.values[j];
    if (!(lam > tiny)) continue;
    explainedVariance[j] = lam / (n - 1);
    const inv = 1 / Math.sqrt(lam);
    const off = j * d;
    for (let r = 0; r < n; r++) {
      const u = eig.vectors[j * n + r] * inv;
      if (u === 0) continue;
      for (let c = 0; c < d; c++) comps[off + c] += u * y[r * d + c];
    }
  }
  fixSigns(comps, k, d);
  return { dim: d, k, mean, scale, components: comps, explainedVariance, totalVariance: trace / (n - 1), rows: n };
}

/** Sign convention: the largest-magnitude entry of each axis is positive (k axes of width d, rows of `comps`). */
export function fixSigns(comps: Float64Array, k: number, d: number): void {
  for (let j = 0; j < k; j++) {
    const off = j * d;
    let best = 0;
    for (let i = 1; i < d; i++) if (Math.abs(comps[off + i]) > Math.abs(comps[off + best])) best = i;
    if (comps[off + best] < 0) for (let i = 0; i < d; i++) comps[off + i] = -comps[off + i];
  }
}

export interface PcaTransformOptions {
  /** Rows per matrix product (bounds the float64 scratch). Default 8,192. */
  chunkRows?: number;
  /** Called with rows done (progress). */
  onRows?: (rowsDone: number) => void;
}

/** Projects the rows of `x` (n×d) onto the model's axes: ((x ⊙ scale) − mean) · Vᵀ → n×k float32. */
export function pcaTransform(x: MatView, model: PcaModel, opts: PcaTransformOptions = {}): Float32Array {
  return pcaTransformMany(x, [model], opts)[0];
}

/**
 * Projects `x` with several models of the same input width in one pass over x (one product with the stacked
 * axes), e.g. two PCAs of the same [text ‖ image] table.
 */
export function pcaTransformMany(x: MatView, models: PcaModel[], opts: PcaTransformOptions = {}): Float32Array[] {
  checkView(x, 'pcaTransform X');
  const d = x.cols;
  for (const m of models) {
    if (m.dim !== d) throw new LinalgError(`pcaTransform: model expects ${m.dim} columns, input has ${d}`);
  }
  const kTot = models.reduce((s, m) => s + m.k, 0);
  // W (d×kTot): column block of model m holds scale ⊙ Vᵀ; the shift is mean · Vᵀ.
  const w = new Float64Array(d * kTot);
  const shift = new Float64Array(kTot);
  let c0 = 0;
  for (const m of models) {
    for (let j = 0; j < m.k; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) {
        const v = m.components[j * d + i];
        w[i * kTot + c0 + j] = v * (m.scale ? m.scale[i] : 1);
        s += m.mean[i] * v;
      }
      shift[c0 + j] = s;
    }
    c0 += m.k;
  }
  const n = x.rows;
  const outs = models.map((m) => new Float32Array(n * m.k));
  const chunk = Math.max(1, opts.chunkRows ?? 8192);
  const scratch = new Float64Array(Math.min(chunk, Math.max(n, 1)) * kTot);
  const wView: MatView = { data: w, rows: d, cols: kTot };
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const nr = Math.min(chunk, n - r0);
    const xs: MatView = { data: x.data, rows: nr, cols: d, stride: strideOf(x), offset: offsetOf(x) + r0 * strideOf(x) };
    matmul(xs, wView, scratch);
    let base = 0;
    models.forEach((m, mi) => {
      const out = outs[mi];
      for (let r = 0; r < nr; r++) {
        for (let j = 0; j < m.k; j++) out[(r0 + r) * m.k + j] = scratch[r * kTot + base + j] - shift[base + j];
      }
      base += m.k;
    });
    opts.onRows?.(r0 + nr);
  }
  return outs;
}
