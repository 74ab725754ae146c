/**
 * Content vectors from the item table's modalities ([text ‖ image ‖ title] columns): every strategy is a linear
 * map y = (x − μ)·A of the centred concatenation, built from its covariance Σ alone, so all strategies share one
 * pass over the data (the covariance) and one product each (the projection).
 *
 * - `concat-pca`: A = top-k eigenvectors of Σ (the challenge baseline's recipe);
 * - `per-modality-pca`: A = blockdiag(V_m), the top-k_m eigenvectors of each modality's own block Σ_mm, placed
 *   side by side (the Task 2 winner's "V4");
 * - whitening `before` the reduction: each modality is first whitened (W_m = U_m Λ_m^{-1/2}, cut to `whitenDim`),
 *   then reduced: concat-pca takes the top-k eigenvectors of BᵀΣB (B = blockdiag(W_m)), which finds the directions
 *   the modalities share; per-modality-pca keeps the first k_m whitened coordinates of each modality (PCA of a
 *   whitened block would be degenerate: its covariance is the identity);
 * - whitening `after` the reduction: y is whitened by its own covariance AᵀΣA (see whiten.ts).
 */
import type { PcaModel } from '../linalg/pca';
import {
  FeatureError,
  covarianceBlock,
  explainedVariance,
  pcaAsLinearMap,
  pcaFromCovarianceStats,
  type CovarianceStats,
  type ExplainedVariance,
  type LinearMap,
} from './pca';
import { composeMap, mappedCovariance, whitenAfter, whiteningFromCovariance, type Whitening } from './whiten';

/** The modalities an item can have: BERT text, CLIP image, and a vector encoded from its title (titleEncoder.ts). */
export type ModalityName = 'text' | 'image' | 'title';

export const MODALITY_NAMES: readonly ModalityName[] = ['text', 'image', 'title'];

/** Columns [col0, col0 + dim) of the content table hold modality `name`. */
export interface ModalityBlock {
  name: ModalityName;
  col0: number;
  dim: number;
}

export type Reduction = 'concat-pca' | 'per-modality-pca';

export const REDUCTIONS: readonly Reduction[] = ['concat-pca', 'per-modality-pca'];

export type WhitenMode = 'none' | 'before' | 'after' | 'signal';

export const WHITEN_MODES: readonly WhitenMode[] = ['none', 'before', 'after', 'signal'];

/** Range of the signal dimension 'auto' looks for an eigengap in (concat-pca with whiten 'signal'). */
export const SIGNAL_DIM_RANGE: readonly [number, number] = [4, 96];

export interface ContentOptions {
  /** How the modalities are reduced. Default 'concat-pca'. */
  reduction: Reduction;
  /** Output width. Default 128. */
  dim: number;
  /**
   * per-modality-pca: output width of each modality, in block order, summing to `dim`. Default an equal split
   * (the remainder to the first modalities).
   */
  perModalityDims?: number[];
  /** Whitening before or after the reduction, or none. Default 'none'. */
  whiten: WhitenMode;
  /** whiten 'before' with concat-pca: directions kept by each modality's whitening (the cut). Default 256 (or the modality's width if smaller). */
  whitenDim: number;
  /** Eigenvalue floor of the whitening, relative to the largest. Default 1e-6. */
  whitenEpsilon: number;
  /**
   * concat-pca: divide each modality by the root of its mean per-coordinate variance before the PCA, so that every
   * modality weighs the same whatever its scale (the challenge's item_emb_d128_e4 recipe). Default false.
   */
  balance: boolean;
  /**
   * whiten 'signal' (concat-pca): the leading principal directions kept and whitened, the others zeroed; 'auto' =
   * where the ratio of consecutive eigenvalues is largest among SIGNAL_DIM_RANGE (the edge of the noise floor).
   * Default 'auto'.
   */
  signalDim: number | 'auto';
}

export const DEFAULT_CONTENT_OPTIONS: Readonly<ContentOptions> = Object.freeze({
  reduction: 'concat-pca',
  dim: 128,
  whiten: 'none',
  whitenDim: 256,
  whitenEpsilon: 1e-6,
  balance: false,
  signalDim: 'auto' as const,
});

/** A content strategy fitted on a table's statistics. */
export interface ContentModel {
  /** y = (x − μ)·A over the whole content table (all blocks; A is zero on unused columns). */
  map: LinearMap;
  /** Every PCA fitted on the way (printed and saved). */
  explained: ExplainedVariance[];
  /** Every whitening on the way: name, kept directions and the share of variance they span. */
  whitenings: { name: string; k: number; kept: number }[];
  /** e.g. `per-modality-pca(text 64, image 64) + whiten after`. */
  description: string;
}

/** Dims per modality for per-modality-pca: the given split (checked) or an equal one. */
export function perModalitySplit(blocks: readonly ModalityBlock[], dim: number, given?: number[]): number[] {
  if (given) {
    if (given.length !== blocks.length) {
      throw new FeatureError(`perModalityDims has ${given.length} entries for ${blocks.length} modalities (${blocks.map((b) => b.name).join(', ')})`);
    }
    if (given.reduce((s, v) => s + v, 0) !== dim) throw new FeatureError(`perModalityDims [${given.join(', ')}] must sum to ${dim}`);
    given.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 1 || v > blocks[i].dim) {
        throw new FeatureError(`perModalityDims: ${blocks[i].name} gets ${v}, expected an integer in [1, ${blocks[i].dim}]`);
      }
    });
    return given;
  }
  const m = blocks.length;
  return blocks.map((_, i) => Math.floor(dim / m) + (i < dim % m ? 1 : 0));
}

/** Embeds a block-local d_m×k map into the full width (zeros outside the block's rows). */
function embedBlock(block: ModalityBlock, local: LinearMap, out: Float64Array, outCols: number, col0: number): void {
  for (let i = 0; i < block.dim; i++) {
    for (let j = 0; j < local.k; j++) out[(block.col0 + i) * outCols + col0 + j] = local.weights[i * local.k + j];
  }
}

function blockName(blocks: readonly ModalityBlock[]): string {
  return blocks.map((b) => b.name).join('+');
}

function share(w: Whitening): number {
  let s = 0;
  for (const v of w.eigenvalues) s += v;
  return w.totalVariance > 0 ? s / w.totalVariance : 0;
}

/** Fits a content strategy on the statistics of the content table with the given blocks. */
export function fitContentModel(st: CovarianceStats, blocks: readonly ModalityBlock[], options: Partial<ContentOptions> = {}): ContentModel {
  const o: ContentOptions = { ...DEFAULT_CONTENT_OPTIONS, ...stripUndefined(options) };
  if (blocks.length === 0) throw new FeatureError('content: no modality selected');
  if (!REDUCTIONS.includes(o.reduction)) throw new FeatureError(`content: reduction '${o.reduction}' (expected ${REDUCTIONS.join(', ')})`);
  if (!WHITEN_MODES.includes(o.whiten)) throw new FeatureError(`content: whiten '${o.whiten}' (expected ${WHITEN_MODES.join(', ')})`);
  if (o.whiten === 'signal' && o.reduction !== 'concat-pca') throw new FeatureError(`content: whiten 'signal' applies to the reduction concat-pca, not ${o.reduction}`);
  if (o.balance && (o.reduction !== 'concat-pca' || o.whiten === 'before')) {
    throw new FeatureError(`content: balance applies to concat-pca without whitening before (${o.reduction}, whiten ${o.whiten})`);
  }
  const D = st.dim;
  for (const b of blocks) {
    if (b.col0 < 0 || b.col0 + b.dim > D) throw new FeatureError(`content: modality ${b.name} [${b.col0}, ${b.col0 + b.dim}) outside ${D} columns`);
  }
  const width = blocks.reduce((s, b) => s + b.dim, 0);
  if (!Number.isInteger(o.dim) || o.dim < 1 || o.dim > width) throw new FeatureError(`content: dim ${o.dim} must be in [1, ${width}]`);
  const explained: ExplainedVariance[] = [];
  const whitenings: ContentModel['whitenings'] = [];
  const eps = o.whitenEpsilon;
  let map: LinearMap;
  let description: string;

  if (o.reduction === 'per-modality-pca') {
    const dims = perModalitySplit(blocks, o.dim, o.perModalityDims);
    const w = new Float64Array(D * o.dim);
    let c0 = 0;
    blocks.forEach((b, i) => {
      const bst = covarianceBlock(st, b.col0, b.dim);
      let local: LinearMap;
      if (o.whiten === 'before') {
        const wh = whiteningFromCovariance(bst.cov, b.dim, { k: dims[i], epsilon: eps });
        whitenings.push({ name: b.name, k: wh.k, kept: share(wh) });
        local = wh;
      } else {
        const pca = pcaFromCovarianceStats(bst, dims[i]);
        explained.push(explainedVariance(b.name, pca));
        local = pcaAsLinearMap(pca);
      }
      embedBlock(b, local, w, o.dim, c0);
      c0 += dims[i];
    });
    map = { dim: D, k: o.dim, weights: w };
    description = `per-modality-pca(${blocks.map((b, i) => `${b.name} ${dims[i]}`).join(', ')})`;
  } else if (o.whiten === 'before') {
    // B = blockdiag(W_m) (D×Σw_m), then PCA of BᵀΣB.
    const cuts = blocks.map((b) => Math.min(o.whitenDim, b.dim));
    const wTot = cuts.reduce((s, v) => s + v, 0);
    if (o.dim > wTot) throw new FeatureError(`content: dim ${o.dim} exceeds the ${wTot} whitened directions (raise whitenDim)`);
    const bw = new Float64Array(D * wTot);
    let c0 = 0;
    blocks.forEach((b, i) => {
      const wh = whiteningFromCovariance(covarianceBlock(st, b.col0, b.dim).cov, b.dim, { k: cuts[i], epsilon: eps });
      whitenings.push({ name: b.name, k: wh.k, kept: share(wh) });
      embedBlock(b, wh, bw, wTot, c0);
      c0 += cuts[i];
    });
    const bMap: LinearMap = { dim: D, k: wTot, weights: bw };
    const inner: CovarianceStats = { rows: st.rows, dim: wTot, mean: new Float64Array(wTot), cov: mappedCovariance(bMap, st.cov), backend: st.backend };
    const pca = pcaFromCovarianceStats(inner, o.dim);
    explained.push(explainedVariance(`whitened ${blockName(blocks)}`, pca));
    map = composeMap(bMap, pcaAsLinearMap(pca).weights, o.dim);
    description = `whiten each modality (${blocks.map((b, i) => `${b.name} ${cuts[i]}`).join(', ')}) then concat-pca ${o.dim}`;
  } else {
    const sub = selectColumns(st, blocks);
    // balance: column factors 1/s_m per modality; the PCA runs on the covariance of the scaled columns.
    const factors = o.balance ? balanceFactors(sub.stats, blocks) : null;
    const stats = factors ? scaledStats(sub.stats, factors.perColumn) : sub.stats;
    const pca: PcaModel = pcaFromCovarianceStats(stats, o.dim);
    explained.push(explainedVariance(blockName(blocks), pca));
    const local = pcaAsLinearMap(pca);
    let signal: { r: number; ratio: number | null } | null = null;
    if (o.whiten === 'signal') {
      signal = signalDimension(pca.explainedVariance, o.signalDim);
      for (let j = 0; j < o.dim; j++) {
        const f = j < signal.r && pca.explainedVariance[j] > 0 ? 1 / Math.sqrt(pca.explainedVariance[j]) : 0;
        for (let i = 0; i < local.dim; i++) local.weights[i * o.dim + j] *= f;
      }
      let kept = 0;
      for (let j = 0; j < signal.r; j++) kept += pca.explainedVariance[j];
      whitenings.push({ name: `signal ${blockName(blocks)}`, k: signal.r, kept: pca.totalVariance > 0 ? kept / pca.totalVariance : 0 });
    }
    const w = new Float64Array(D * o.dim);
    sub.columns.forEach((col, i) => {
      const f = factors ? factors.perColumn[i] : 1;
      for (let j = 0; j < o.dim; j++) w[col * o.dim + j] = f * local.weights[i * o.dim + j];
    });
    map = { dim: D, k: o.dim, weights: w };
    description = `concat-pca(${blockName(blocks)}${factors ? ` balanced: ${blocks.map((b, i) => `${b.name} ÷ ${factors.perModality[i].toPrecision(3)}`).join(', ')}` : ''} → ${o.dim})`;
    if (signal) {
      description += ` + whiten signal: the first ${signal.r} directions whitened, the rest zeroed (${signal.ratio !== null ? `eigengap ${signal.ratio.toFixed(2)}` : 'given'})`;
    }
  }
  if (o.whiten === 'after') {
    const { map: white, whitening } = whitenAfter(map, st.cov, { epsilon: eps });
    whitenings.push({ name: `reduced ${blockName(blocks)}`, k: whitening.k, kept: share(whitening) });
    map = white;
    description += ' + whiten after';
  }
  return { map, explained, whitenings, description };
}

/** Per modality s_m = √(mean per-coordinate variance of its columns), and the column factors 1/s_m (in stats order). */
function balanceFactors(st: CovarianceStats, blocks: readonly ModalityBlock[]): { perModality: number[]; perColumn: Float64Array } {
  const perColumn = new Float64Array(st.dim);
  const perModality: number[] = [];
  let at = 0;
  for (const b of blocks) {
    let v = 0;
    for (let i = 0; i < b.dim; i++) v += st.cov[(at + i) * st.dim + at + i];
    const s = Math.sqrt(v / b.dim);
    if (!(s > 0)) throw new FeatureError(`content: modality ${b.name} has no variance; balance cannot scale it`);
    perModality.push(s);
    perColumn.fill(1 / s, at, at + b.dim);
    at += b.dim;
  }
  return { perModality, perColumn };
}

/** The statistics of the columns multiplied by the factors f: mean·f, cov ∘ ffᵀ. */
function scaledStats(st: CovarianceStats, f: Float64Array): CovarianceStats {
  const d = st.dim;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] = st.cov[i * d + j] * f[i] * f[j];
  return { rows: st.rows, dim: d, mean: Float64Array.from(st.mean, (m, i) => m * f[i]), cov, backend: st.backend };
}

/**
 * The signal dimension r of decreasing eigenvalues: given, or 'auto' = the r in SIGNAL_DIM_RANGE (capped by the
 * eigenvalues available) with the largest λ_r / λ_{r+1}: where the leading directions end and the noise floor begins.
 */
export function signalDimension(eigenvalues: ArrayLike<number>, signalDim: number | 'auto'): { r: number; ratio: number | null } {
  const k = eigenvalues.length;
  if (signalDim !== 'auto') {
    if (!Number.isInteger(signalDim) || signalDim < 1 || signalDim > k) throw new FeatureError(`content: signalDim ${signalDim} must be an integer in [1, ${k}]`);
    return { r: signalDim, ratio: null };
  }
  const [lo, hi] = SIGNAL_DIM_RANGE;
  let best = { r: Math.min(k, lo), ratio: -Infinity };
  for (let r = lo; r <= Math.min(hi, k - 1); r++) {
    const a = eigenvalues[r - 1];
    const b = eigenvalues[r];
    if (!(a > 0)) break;
    const ratio = b > 0 ? a / b : Infinity;
    if (ratio > best.ratio) best = { r, ratio };
  }
  if (best.ratio === -Infinity) throw new FeatureError(`content: whiten 'signal' found no positive eigenvalues among the first ${Math.min(hi, k - 1)}`);
  return best;
}

/** The statistics restricted to the blocks' columns (in block order), and which columns those are. */
function selectColumns(st: CovarianceStats, blocks: readonly ModalityBlock[]): { stats: CovarianceStats; columns: number[] } {
  const columns: number[] = [];
  for (const b of blocks) for (let i = 0; i < b.dim; i++) columns.push(b.col0 + i);
  if (columns.length === st.dim && columns.every((c, i) => c === i)) return { stats: st, columns };
  const w = columns.length;
  const cov = new Float64Array(w * w);
  for (let i = 0; i < w; i++) for (let j = 0; j < w; j++) cov[i * w + j] = st.cov[columns[i] * st.dim + columns[j]];
  return { stats: { rows: st.rows, dim: w, mean: Float64Array.from(columns, (c) => st.mean[c]), cov, backend: st.backend }, columns };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
