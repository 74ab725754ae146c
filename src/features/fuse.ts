/**
 * Fusion of a content vector and a collaborative (Word2Vec) vector per item, as in the CLIP + Word2Vec pipeline
 * of the challenge: each source L2-normalised, then
 * - `weighted`: w_c·ĉ + w_k·k̂ (0.5/0.5 by default), L2-normalised again; or
 * - `concat-pca`: [√w_c·ĉ ‖ √w_k·k̂] reduced to `dim` by PCA (so the weights act on variances as they act on the
 *   squared distances in the weighted form);
 * - `concat`: each source reduced by its own PCA to its share of `dim` (`contentDim` for content, the rest for the
 *   collaborative source), L2-normalised again, then [√w_c·ĉ' ‖ √w_k·k̂'] with no joint PCA: both sources keep
 *   their own coordinates and equal norms (√w each), so neither dominates a downstream linear projection.
 * An item a source has no vector for (zero row: no content, or never seen in item_seq) contributes only the other.
 * Options off by default: `collaborative: 'residual'` fuses the least-squares residual of the collaborative vectors
 * on the content vectors instead of the raw ones; `clusters` (concat only) keeps the last k columns for a one-hot of
 * the item's spherical k-means cluster of the collaborative source (value `weight`), the fused part taking dim − k.
 *
 * The default mode is `concat-pca`: in the DIN ablation on the small synthetic data (bench/results/embedAblation.md,
 * dinSmall, 2 epochs, seeds 20242025 and 7) it beat both single sources (word2vec 0.7710, fused 0.7766), where the
 * weighted sum fell between them (the sum mixes the two sources in the same coordinates; the concatenation keeps them
 * apart). `concat` (64 + 64, no joint PCA) did better still (0.7809 on both seeds' mean; each seed above the others).
 */
import { chooseK, l2NormalizeRows, type ChooseKResult } from './kmeans';
import { pcaAsLinearMap, pcaFromCovarianceStats, covariance, projectRows, explainedVariance, FeatureError, type ExplainedVariance, type ProductBackendChoice } from './pca';
import { residualOn } from './residual';

export { l2NormalizeRows } from './kmeans';

export type FusionMode = 'weighted' | 'concat-pca' | 'concat';

export const FUSION_MODES: readonly FusionMode[] = ['weighted', 'concat-pca', 'concat'];

/**
 * The collaborative source as fused: `raw` Word2Vec vectors, or their least-squares `residual` on the content
 * vectors (with intercept; residual.ts), which removes the part content already predicts (topic) and keeps the
 * co-watching community. On data/small (runs/t1/summary.md, DIN dinSmall, 2 seeds) residual + window 20 + clusters
 * gave 0.8039 valid AUC against 0.7851 for the default table.
 */
export type CollaborativeSource = 'raw' | 'residual';

export const COLLABORATIVE_SOURCES: readonly CollaborativeSource[] = ['raw', 'residual'];

/** k candidates of `clusters.k = 'auto'` (capped by the number of items with a collaborative vector). */
export const AUTO_CLUSTER_KS: readonly number[] = [16, 24, 32, 48, 64];

export type ClusterMethod = 'kmeans' | 'cowatch';

/** Candidates of `clusters.topics = 'auto'` (method 'cowatch'). */
export const AUTO_TOPIC_KS: readonly number[] = [16, 24, 32, 48];

export const CLUSTER_METHODS: readonly ClusterMethod[] = ['kmeans', 'cowatch'];

/** Clusters found outside fuse.ts (method 'cowatch'): a label per row (−1: none) in 0..k−1. */
export interface PrecomputedClusters {
  labels: Int32Array;
  k: number;
}

/** Value of the one-hot cluster column by default: √0.5, a squared norm half the fused part's (1). */
export const DEFAULT_CLUSTER_WEIGHT = Math.SQRT1_2;

/** Seed of the k-means++ draws of the cluster block. */
export const CLUSTER_SEED = 1;

/**
 * A one-hot block of spherical k-means clusters of the collaborative source (kmeans.ts) appended after a `concat`
 * fusion: the last k columns, the item's cluster column = `weight`, the others 0.
 */
export interface ClusterOptions {
  /**
   * Number of clusters, an integer ≥ 2, or 'auto': for 'kmeans' the best silhouette among AUTO_CLUSTER_KS, for
   * 'cowatch' the eigengap (communities.ts). No default.
   */
  k: number | 'auto';
  /**
   * 'kmeans' (default): spherical k-means of the collaborative vectors. 'cowatch': spectral communities of the
   * cross-topic co-occurrence graph of the histories (communities.ts), computed by the caller (embed.ts) and passed
   * to fuseVectors as `precomputed`.
   */
  method?: ClusterMethod;
  /**
   * 'cowatch' only: content topics whose same-topic pairs are masked, an integer ≥ 2 or 'auto' (the best
   * silhouette of spherical k-means of the content vectors among AUTO_TOPIC_KS). Default 'auto'.
   */
  topics?: number | 'auto';
  /** Value of the item's cluster column (before the table's global rescaling). Default √0.5 (DEFAULT_CLUSTER_WEIGHT). */
  weight: number;
}

export interface FuseOptions {
  /** How the sources combine. Default 'concat-pca'. */
  mode: FusionMode;
  /** Weight of the content source. Default 0.5. */
  contentWeight: number;
  /** Weight of the collaborative source. Default 0.5. */
  collaborativeWeight: number;
  /** Output width (concat-pca, concat; weighted keeps the sources' common width). Default 128. */
  dim: number;
  /** concat: coordinates of the content part (the collaborative part gets dim − contentDim). Default 64. */
  contentDim: number;
  /** L2-normalise the weighted sum. Default true. */
  normalizeOutput: boolean;
  /** Engine of the concat-pca products. Default 'auto'. */
  backend: ProductBackendChoice;
  /** The collaborative vectors as fused (and clustered). Default 'raw'. */
  collaborative: CollaborativeSource;
  /**
   * concat only: append a one-hot block of k clusters of the collaborative source. The other dim − k columns are
   * shared as contentDim : (dim − contentDim) (64 : 64 → 48 + 48 for k = 32; clusterSplit). Default undefined (none).
   */
  clusters: ClusterOptions | undefined;
}

export const DEFAULT_FUSE_OPTIONS: Readonly<FuseOptions> = Object.freeze({
  mode: 'concat-pca' as FusionMode,
  contentWeight: 0.5,
  collaborativeWeight: 0.5,
  dim: 128,
  contentDim: 64,
  normalizeOutput: true,
  backend: 'auto',
  collaborative: 'raw' as CollaborativeSource,
  clusters: undefined,
});

/** With a cluster block of k columns: the content and collaborative widths, summing to dim − k. */
export function clusterSplit(o: Pick<FuseOptions, 'dim' | 'contentDim'>, k: number): { contentDim: number; collaborativeDim: number } {
  const rest = o.dim - k;
  const contentDim = Math.round((o.contentDim / o.dim) * rest);
  return { contentDim, collaborativeDim: rest - contentDim };
}

/** Checks a cluster option's own values (not yet against the data); throws FeatureError. */
export function validateClusterOptions(c: ClusterOptions, dim: number, contentDim: number): void {
  if (c.method !== undefined && !CLUSTER_METHODS.includes(c.method)) {
    throw new FeatureError(`fuse clusters: unknown method '${String(c.method)}' (expected ${CLUSTER_METHODS.join(', ')})`);
  }
  if (c.topics !== undefined) {
    if (c.method !== 'cowatch') throw new FeatureError(`fuse clusters: topics apply to the method 'cowatch' only`);
    if (c.topics !== 'auto' && (!Number.isInteger(c.topics) || c.topics < 2)) throw new FeatureError(`fuse clusters: topics = ${c.topics} must be an integer ≥ 2 or 'auto'`);
  }
  if (c.k !== 'auto') {
    if (!Number.isInteger(c.k) || c.k < 2) throw new FeatureError(`fuse clusters: k = ${c.k} must be an integer ≥ 2 or 'auto'`);
    const s = clusterSplit({ dim, contentDim }, c.k);
    if (s.contentDim < 1 || s.collaborativeDim < 1) {
      throw new FeatureError(
        `fuse clusters: k = ${c.k} leaves ${dim - c.k} of ${dim} columns, split ${s.contentDim} (content) + ${s.collaborativeDim} (collaborative); each part needs ≥ 1 (use a smaller k)`,
      );
    }
  }
  if (!(Number.isFinite(c.weight) && c.weight > 0)) throw new FeatureError(`fuse clusters: weight = ${c.weight} must be a finite number > 0`);
}

/** What the cluster block holds. */
export interface FusedClusters {
  k: number;
  weight: number;
  /** Columns [col0, col0 + k). */
  col0: number;
  /** Widths of the fused content and collaborative parts before the block. */
  contentDim: number;
  collaborativeDim: number;
  /** How the clusters were found. */
  method: ClusterMethod;
  /** Silhouette of the chosen k, and of every candidate tried ('auto': several); null and [] for 'cowatch'. */
  silhouette: number | null;
  scores: ChooseKResult['scores'];
  /** Members per cluster. */
  sizes: number[];
  /** Cluster per row, −1 for rows with no collaborative vector. */
  labels: Int32Array;
}

export interface FusedVectors {
  /** [rows × dim], row 0 (padding) zeros. */
  vectors: Float32Array;
  dim: number;
  /** The PCA of the concatenation (concat-pca only). */
  explained: ExplainedVariance | null;
  /** The cluster block (options.clusters), else null. */
  clusters: FusedClusters | null;
}

/**
 * Fuses two item tables of the same rows (row = item id, row 0 padding): content [rows × dc] and collaborative
 * [rows × dk].
 */
export function fuseVectors(
  content: Float32Array,
  contentDim: number,
  collaborative: Float32Array,
  collaborativeDim: number,
  options: Partial<FuseOptions> = {},
  precomputed: PrecomputedClusters | null = null,
): FusedVectors {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<FuseOptions>;
  const o: FuseOptions = { ...DEFAULT_FUSE_OPTIONS, ...defined };
  const rows = content.length / contentDim;
  if (!Number.isInteger(rows) || collaborative.length !== rows * collaborativeDim) {
    throw new FeatureError(`fuse: content holds ${content.length / contentDim} rows of ${contentDim}, collaborative ${collaborative.length / collaborativeDim} rows of ${collaborativeDim}`);
  }
  for (const [k, v] of [['contentWeight', o.contentWeight], ['collaborativeWeight', o.collaborativeWeight]] as const) {
    if (!(v >= 0 && Number.isFinite(v))) throw new FeatureError(`fuse: ${k} = ${v} must be a finite number ≥ 0`);
  }
  if (o.contentWeight + o.collaborativeWeight <= 0) throw new FeatureError('fuse: the two weights must not both be 0');
  if (!COLLABORATIVE_SOURCES.includes(o.collaborative)) {
    throw new FeatureError(`fuse: unknown collaborative source '${String(o.collaborative)}' (expected ${COLLABORATIVE_SOURCES.join(', ')})`);
  }
  if (o.collaborative === 'residual') {
    const resid = residualOn(collaborative, collaborativeDim, content, contentDim);
    return fuseVectors(content, contentDim, resid, collaborativeDim, { ...o, collaborative: 'raw' }, precomputed);
  }
  if (o.clusters) return fuseWithClusters(content, contentDim, collaborative, collaborativeDim, o, o.clusters, precomputed);
  if (precomputed) throw new FeatureError('fuse: precomputed clusters given without the clusters option');
  const c = l2NormalizeRows(content, contentDim);
  const k = l2NormalizeRows(collaborative, collaborativeDim);
  switch (o.mode) {
    case 'weighted': {
      if (contentDim !== collaborativeDim) {
        throw new FeatureError(`fuse weighted: the sources must have the same width (content ${contentDim}, collaborative ${collaborativeDim}); use concat-pca`);
      }
      const d = contentDim;
      const out = new Float32Array(rows * d);
      for (let i = 0; i < rows * d; i++) out[i] = o.contentWeight * c[i] + o.collaborativeWeight * k[i];
      return { vectors: o.normalizeOutput ? l2NormalizeRows(out, d) : out, dim: d, explained: null, clusters: null };
    }
    case 'concat-pca': {
      const w = contentDim + collaborativeDim;
      if (!Number.isInteger(o.dim) || o.dim < 1 || o.dim > w) throw new FeatureError(`fuse concat-pca: dim ${o.dim} must be in [1, ${w}]`);
      if (rows - 1 < 2) throw new FeatureError(`fuse concat-pca: needs at least 2 items, got ${rows - 1}`);
      const sc = Math.sqrt(o.contentWeight);
      const sk = Math.sqrt(o.collaborativeWeight);
      // Items 1..rows−1 (row 0 is padding and stays zero).
      const x = new Float32Array((rows - 1) * w);
      for (let r = 1; r < rows; r++) {
        const dst = (r - 1) * w;
        for (let j = 0; j < contentDim; j++) x[dst + j] = sc * c[r * contentDim + j];
        for (let j = 0; j < collaborativeDim; j++) x[dst + contentDim + j] = sk * k[r * collaborativeDim + j];
      }
      const view = { data: x, rows: rows - 1, cols: w };
      const st = covariance(view, { backend: o.backend });
      const pca = pcaFromCovarianceStats(st, o.dim);
      const [y] = projectRows(view, st.mean, [pcaAsLinearMap(pca)], { backend: o.backend });
      const out = new Float32Array(rows * o.dim);
      out.set(y, o.dim);
      return { vectors: out, dim: o.dim, explained: explainedVariance('content+collaborative', pca), clusters: null };
    }
    case 'concat': {
      const dc = o.contentDim;
      const dk = o.dim - dc;
      if (!Number.isInteger(dc) || dc < 1 || dk < 1 || dc > contentDim || dk > collaborativeDim) {
        throw new FeatureError(
          `fuse concat: contentDim ${dc} and dim − contentDim ${dk} must be ≥ 1 and at most the sources' widths (${contentDim}, ${collaborativeDim})`,
        );
      }
      if (rows - 1 < 2) throw new FeatureError(`fuse concat: needs at least 2 items, got ${rows - 1}`);
      const cr = l2NormalizeRows(pcaReduceRows(c, contentDim, dc, o.backend), dc);
      const kr = l2NormalizeRows(pcaReduceRows(k, collaborativeDim, dk, o.backend), dk);
      const sc = Math.sqrt(o.contentWeight);
      const sk = Math.sqrt(o.collaborativeWeight);
      const out = new Float32Array(rows * o.dim);
      for (let r = 1; r < rows; r++) {
        for (let j = 0; j < dc; j++) out[r * o.dim + j] = sc * cr[r * dc + j];
        for (let j = 0; j < dk; j++) out[r * o.dim + dc + j] = sk * kr[r * dk + j];
      }
      return { vectors: out, dim: o.dim, explained: null, clusters: null };
    }
    default: {
      const never: never = o.mode;
      throw new FeatureError(`fuse: unknown mode '${String(never)}' (expected ${FUSION_MODES.join(', ')})`);
    }
  }
}

/** concat of content and collaborative at dim − k columns, then the one-hot block of k clusters of collaborative. */
function fuseWithClusters(
  content: Float32Array,
  contentDim: number,
  collaborative: Float32Array,
  collaborativeDim: number,
  o: FuseOptions,
  c: ClusterOptions,
  precomputed: PrecomputedClusters | null,
): FusedVectors {
  if (o.mode !== 'concat') throw new FeatureError(`fuse clusters: need mode 'concat', got '${o.mode}'`);
  validateClusterOptions(c, o.dim, o.contentDim);
  const method = c.method ?? 'kmeans';
  const rows = content.length / contentDim;
  if ((method === 'cowatch') !== (precomputed !== null)) {
    throw new FeatureError(`fuse clusters: method '${method}' ${precomputed ? 'takes no' : 'needs'} precomputed clusters (embed.ts computes the co-watching communities)`);
  }
  const sources: FuseSources = { content, contentDim, collaborative, collaborativeDim };
  if (precomputed) return placeClusters(sources, o, c, precomputed, null);
  let live = 0;
  for (let r = 1; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < collaborativeDim; j++) s += collaborative[r * collaborativeDim + j] ** 2;
    if (s > 0) live++;
  }
  const candidates =
    c.k === 'auto'
      ? AUTO_CLUSTER_KS.filter((k) => {
          const s = clusterSplit(o, k);
          return k <= live && s.contentDim >= 1 && s.collaborativeDim >= 1 && s.contentDim <= contentDim && s.collaborativeDim <= collaborativeDim;
        })
      : [c.k];
  if (candidates.length === 0) {
    throw new FeatureError(
      `fuse clusters: k = 'auto': no k of ${AUTO_CLUSTER_KS.join(', ')} fits ${live} items with a collaborative vector and dim ${o.dim} (sources ${contentDim}, ${collaborativeDim} wide)`,
    );
  }
  const chosen = chooseK(collaborative, collaborativeDim, candidates, { kmeans: { seed: CLUSTER_SEED }, silhouette: { seed: CLUSTER_SEED } });
  return placeClusters(sources, o, c, { labels: chosen.best.labels, k: chosen.best.k }, chosen);
}

/** The two sources of a fusion: [rows × contentDim] and [rows × collaborativeDim]. */
interface FuseSources {
  content: Float32Array;
  contentDim: number;
  collaborative: Float32Array;
  collaborativeDim: number;
}

/** The concat fusion at dim − k columns, then the one-hot block of the given clusters. */
function placeClusters(sources: FuseSources, o: FuseOptions, c: ClusterOptions, found: PrecomputedClusters, chosen: ChooseKResult | null): FusedVectors {
  const { content, contentDim, collaborative, collaborativeDim } = sources;
  const rows = content.length / contentDim;
  const k = found.k;
  if (found.labels.length !== rows) throw new FeatureError(`fuse clusters: ${found.labels.length} cluster labels for ${rows} rows`);
  const split = clusterSplit(o, k);
  if (split.contentDim < 1 || split.collaborativeDim < 1) {
    throw new FeatureError(`fuse clusters: k = ${k} leaves ${o.dim - k} of ${o.dim} columns, split ${split.contentDim} + ${split.collaborativeDim}; each part needs ≥ 1`);
  }
  const inner = fuseVectors(content, contentDim, collaborative, collaborativeDim, {
    ...o,
    clusters: undefined,
    dim: split.contentDim + split.collaborativeDim,
    contentDim: split.contentDim,
  });
  const d = inner.dim;
  const out = new Float32Array(rows * o.dim);
  const labels = found.labels;
  const sizes = new Array<number>(k).fill(0);
  for (let r = 1; r < rows; r++) {
    if (labels[r] >= k || labels[r] < -1 || !Number.isInteger(labels[r])) throw new FeatureError(`fuse clusters: row ${r} has cluster ${labels[r]}, outside −1..${k - 1}`);
    if (labels[r] >= 0) sizes[labels[r]]++;
  }
  for (let r = 1; r < rows; r++) {
    out.set(inner.vectors.subarray(r * d, (r + 1) * d), r * o.dim);
    if (labels[r] >= 0) out[r * o.dim + d + labels[r]] = c.weight;
  }
  return {
    vectors: out,
    dim: o.dim,
    explained: null,
    clusters: {
      k,
      weight: c.weight,
      col0: d,
      contentDim: split.contentDim,
      collaborativeDim: split.collaborativeDim,
      method: c.method ?? 'kmeans',
      silhouette: chosen ? chosen.silhouette : null,
      scores: chosen ? chosen.scores : [],
      sizes,
      labels,
    },
  };
}

/**
 * Rows [rows × d] (row 0 padding) → their PCA projections [rows × k], fitted on the non-zero rows of items 1..;
 * zero rows (padding, an item the source has no vector for) stay zero. k = d keeps every direction (a rotation).
 */
function pcaReduceRows(x: Float32Array, d: number, k: number, backend: ProductBackendChoice): Float32Array {
  const rows = x.length / d;
  const keep: number[] = [];
  for (let r = 1; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[r * d + j] * x[r * d + j];
    if (s > 0) keep.push(r);
  }
  const out = new Float32Array(rows * k);
  if (keep.length < 2) return out;
  const dense = new Float32Array(keep.length * d);
  keep.forEach((r, i) => dense.set(x.subarray(r * d, (r + 1) * d), i * d));
  const view = { data: dense, rows: keep.length, cols: d };
  const st = covariance(view, { backend });
  const [y] = projectRows(view, st.mean, [pcaAsLinearMap(pcaFromCovarianceStats(st, k))], { backend });
  keep.forEach((r, i) => out.set(y.subarray(i * k, (i + 1) * k), r * k));
  return out;
}

/**
 * The cluster of each row from a table's one-hot block, columns [col0, col0 + k) of rows of `dim` (−1: no column
 * set): the inverse of the block fuseVectors writes (FusedClusters.col0, .k).
 */
export function clustersFromBlock(vectors: Float32Array, dim: number, col0: number, k: number): Int32Array {
  if (!(col0 >= 0 && k >= 1 && col0 + k <= dim) || vectors.length % dim !== 0) {
    throw new FeatureError(`clustersFromBlock: block [${col0}, ${col0 + k}) does not fit rows of ${dim} (${vectors.length} values)`);
  }
  const rows = vectors.length / dim;
  const out = new Int32Array(rows).fill(-1);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 0; j < k; j++) {
      const v = vectors[r * dim + col0 + j];
      if (v > best) {
        best = v;
        out[r] = j;
      }
    }
  }
  return out;
}
