/**
 * Spherical k-means (cosine similarity on L2-normalised rows; Dhillon & Modha 2001) with k-means++ seeding
 * (Arthur & Vassilvitskii 2007) from the project's seeded rng, and a sampled silhouette score (Rousseeuw 1987,
 * cosine distance) to choose k. Used by `fuse` to append a one-hot community block to the item table: the
 * collaborative vectors cluster by co-watching community, and a one-hot of the cluster hands DIN that community
 * as a coordinate of its own.
 *
 * Zero rows (the padding row 0, items with no vector) take no part and get label −1.
 */
import { rng } from '../util/rng';
import { FeatureError } from './pca';

/** Row-wise L2 normalisation into a new array (zero rows stay zero). fuse.ts uses (and re-exports) it. */
export function l2NormalizeRows(x: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[o + j] * x[o + j];
    if (!(s > 0)) continue;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[o + j] = x[o + j] * inv;
  }
  return out;
}

export interface KMeansOptions {
  /** Seed of the k-means++ draws. Default 1. */
  seed: number;
  /** Most Lloyd iterations (it also stops when no assignment changes). Default 50. */
  maxIterations: number;
}

export const DEFAULT_KMEANS_OPTIONS: Readonly<KMeansOptions> = Object.freeze({ seed: 1, maxIterations: 50 });

export interface KMeansResult {
  /** Cluster of each row in 0..k−1, −1 for zero rows. */
  labels: Int32Array;
  /** [k × dim] unit centroids (a cluster that lost every row keeps its last centroid). */
  centroids: Float64Array;
  k: number;
  /** Members per cluster. */
  sizes: Int32Array;
  iterations: number;
  /** True when the last iteration changed no assignment (false: stopped at maxIterations). */
  converged: boolean;
}

/** Indices of the non-zero rows of unit rows u [n × dim]. */
function liveRows(u: Float32Array, dim: number): number[] {
  const live: number[] = [];
  for (let r = 0; r < u.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += u[r * dim + j] * u[r * dim + j];
    if (s > 0) live.push(r);
  }
  return live;
}

/** Spherical k-means of the rows of x [n × dim]. Deterministic for a seed. */
export function sphericalKMeans(x: Float32Array, dim: number, k: number, options: Partial<KMeansOptions> = {}): KMeansResult {
  const o: KMeansOptions = { ...DEFAULT_KMEANS_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (!Number.isInteger(dim) || dim < 1 || x.length % dim !== 0) throw new FeatureError(`kmeans: ${x.length} values are not rows of ${dim}`);
  const u = l2NormalizeRows(x, dim);
  const live = liveRows(u, dim);
  if (!Number.isInteger(k) || k < 2 || k > live.length) {
    throw new FeatureError(`kmeans: k = ${k} must be an integer in [2, ${live.length}] (the number of non-zero rows)`);
  }
  if (!Number.isInteger(o.maxIterations) || o.maxIterations < 1) throw new FeatureError(`kmeans: maxIterations = ${o.maxIterations} must be an integer ≥ 1`);
  const g = rng(`features/kmeans/${o.seed}/${k}`);
  const cent = new Float64Array(k * dim);
  // k-means++: each next centre drawn with probability ∝ squared distance to the nearest centre so far (2 − 2 cos).
  const d2 = new Float64Array(live.length).fill(Infinity);
  let pick = g.int(live.length);
  for (let c = 0; c < k; c++) {
    const src = live[pick] * dim;
    for (let j = 0; j < dim; j++) cent[c * dim + j] = u[src + j];
    if (c === k - 1) break;
    let total = 0;
    for (let i = 0; i < live.length; i++) {
      const p = live[i] * dim;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += u[p + j] * cent[c * dim + j];
      d2[i] = Math.min(d2[i], Math.max(0, 2 - 2 * dot));
      total += d2[i];
    }
    if (!(total > 0)) {
      // Fewer distinct directions than k: take any row not yet a centre (duplicates make empty clusters).
      pick = (pick + 1) % live.length;
      continue;
    }
    let t = g.uniform() * total;
    pick = live.length - 1;
    for (let i = 0; i < live.length; i++) {
      t -= d2[i];
      if (t <= 0 && d2[i] > 0) {
        pick = i;
        break;
      }
    }
  }
  const labels = new Int32Array(u.length / dim).fill(-1);
  const sizes = new Int32Array(k);
  const sum = new Float64Array(k * dim);
  let iterations = 0;
  let converged = false;
  while (iterations < o.maxIterations) {
    iterations++;
    let changed = 0;
    for (const r of live) {
      const p = r * dim;
      let best = 0;
      let bestDot = -Infinity;
      for (let c = 0; c < k; c++) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += u[p + j] * cent[c * dim + j];
        if (dot > bestDot) {
          bestDot = dot;
          best = c;
        }
      }
      if (labels[r] !== best) changed++;
      labels[r] = best;
    }
    sum.fill(0);
    sizes.fill(0);
    for (const r of live) {
      const c = labels[r];
      sizes[c]++;
      for (let j = 0; j < dim; j++) sum[c * dim + j] += u[r * dim + j];
    }
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += sum[c * dim + j] * sum[c * dim + j];
      if (!(s > 0)) continue;
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < dim; j++) cent[c * dim + j] = sum[c * dim + j] * inv;
    }
    if (changed === 0) {
      converged = true;
      break;
    }
  }
  return { labels, centroids: cent, k, sizes, iterations, converged };
}

export interface SilhouetteOptions {
  /** Rows sampled (all labelled rows when fewer). Default 1500. */
  sample: number;
  /** Seed of the sample. Default 1. */
  seed: number;
}

export const DEFAULT_SILHOUETTE_OPTIONS: Readonly<SilhouetteOptions> = Object.freeze({ sample: 1500, seed: 1 });

/**
 * Mean silhouette (cosine distance 1 − cos) of a labelling over a seeded sample of the labelled rows, distances
 * taken within the sample: (b − a) / max(a, b) per row, 0 for a row alone in its cluster. In [−1, 1]; higher = tighter,
 * better separated clusters.
 */
export function silhouetteScore(x: Float32Array, dim: number, labels: Int32Array, options: Partial<SilhouetteOptions> = {}): number {
  const o: SilhouetteOptions = { ...DEFAULT_SILHOUETTE_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (labels.length * dim !== x.length) throw new FeatureError(`silhouette: ${labels.length} labels for ${x.length / dim} rows`);
  const u = l2NormalizeRows(x, dim);
  const ids: number[] = [];
  let k = 0;
  for (let r = 0; r < labels.length; r++) {
    if (labels[r] < 0) continue;
    ids.push(r);
    k = Math.max(k, labels[r] + 1);
  }
  if (k < 2) throw new FeatureError(`silhouette: needs at least 2 clusters, got ${k}`);
  const m = Math.min(o.sample, ids.length);
  // Partial Fisher–Yates: a seeded sample of m rows, then sorted so the result does not depend on draw order.
  const g = rng(`features/silhouette/${o.seed}`);
  const pool = ids.slice();
  for (let i = 0; i < m; i++) {
    const j = i + g.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const pick = pool.slice(0, m).sort((a, b) => a - b);
  const sum = new Float64Array(k);
  const cnt = new Float64Array(k);
  let total = 0;
  for (const a of pick) {
    sum.fill(0);
    cnt.fill(0);
    for (const b of pick) {
      if (a === b) continue;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += u[a * dim + j] * u[b * dim + j];
      sum[labels[b]] += 1 - dot;
      cnt[labels[b]]++;
    }
    const own = labels[a];
    if (cnt[own] === 0) continue;
    const ai = sum[own] / cnt[own];
    let bi = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && cnt[c] > 0) bi = Math.min(bi, sum[c] / cnt[c]);
    if (!Number.isFinite(bi)) continue;
    const den = Math.max(ai, bi);
    total += den > 0 ? (bi - ai) / den : 0;
  }
  return total / m;
}

export interface ChooseKOptions {
  kmeans: Partial<KMeansOptions>;
  silhouette: Partial<SilhouetteOptions>;
}

export interface ChooseKResult {
  /** The clustering of the chosen k. */
  best: KMeansResult;
  silhouette: number;
  /** Every candidate tried, in the order given. */
  scores: { k: number; silhouette: number }[];
}

/** Clusters at each candidate k and keeps the one of highest silhouette (the first on a tie). */
export function chooseK(x: Float32Array, dim: number, candidates: readonly number[], options: Partial<ChooseKOptions> = {}): ChooseKResult {
  if (candidates.length === 0) throw new FeatureError('kmeans chooseK: no candidate k');
  let best: KMeansResult | null = null;
  let bestScore = -Infinity;
  const scores: ChooseKResult['scores'] = [];
  for (const k of candidates) {
    const res = sphericalKMeans(x, dim, k, options.kmeans);
    const s = silhouetteScore(x, dim, res.labels, options.silhouette);
    scores.push({ k, silhouette: s });
    if (s > bestScore) {
      bestScore = s;
      best = res;
    }
  }
  return { best: best!, silhouette: bestScore, scores };
}
