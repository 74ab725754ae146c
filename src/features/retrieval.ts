/**
 * Nearest-neighbour checks of item vectors: cosine top-k neighbours of query rows, and the precision@k of a label
 * (a synthetic topic or community, a shared hashtag) among them, with its chance level.
 */
import { matmul } from '../linalg/matmul';
import { FeatureError } from './pca';

export interface NeighbourOptions {
  /** Neighbours per query. Default 10. */
  k?: number;
  /** Candidates (row indices). Default every row except 0 when `skipRowZero`, else every row. */
  candidates?: Int32Array;
  /** Leave row 0 out of the default candidates (the padding row of an item table). Default true. */
  skipRowZero?: boolean;
  /** A candidate that may not be a neighbour of a query besides itself (e.g. an exact duplicate). Default none. */
  exclude?: (query: number, candidate: number) => boolean;
}

/**
 * Top-k cosine neighbours of each query row among the candidates (the query itself excluded): queries × k row
 * indices, best first; −1 where fewer candidates qualify. Rows of zero norm are never neighbours, and a zero query
 * gets none.
 */
export function topNeighbours(vectors: Float32Array, dim: number, queries: Int32Array, opts: NeighbourOptions = {}): Int32Array {
  const n = vectors.length / dim;
  if (!Number.isInteger(n)) throw new FeatureError(`topNeighbours: ${vectors.length} values do not split into rows of ${dim}`);
  const k = opts.k ?? 10;
  const cands = opts.candidates ?? Int32Array.from({ length: n - ((opts.skipRowZero ?? true) ? 1 : 0) }, (_, i) => i + ((opts.skipRowZero ?? true) ? 1 : 0));
  const m = cands.length;
  // Unit candidate rows, transposed (dim × m), so one product scores a block of queries.
  const ct = new Float64Array(dim * m);
  const live = new Uint8Array(m);
  for (let c = 0; c < m; c++) {
    const o = cands[c] * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[o + j] * vectors[o + j];
    if (!(s > 0)) continue;
    live[c] = 1;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) ct[j * m + c] = vectors[o + j] * inv;
  }
  const out = new Int32Array(queries.length * k).fill(-1);
  const block = 64;
  const qm = new Float64Array(block * dim);
  const sims = new Float64Array(block * m);
  const topS = new Float64Array(k);
  const topI = new Int32Array(k);
  for (let q0 = 0; q0 < queries.length; q0 += block) {
    const nb = Math.min(block, queries.length - q0);
    const zero = new Uint8Array(nb);
    for (let b = 0; b < nb; b++) {
      const o = queries[q0 + b] * dim;
      let s = 0;
      for (let j = 0; j < dim; j++) s += vectors[o + j] * vectors[o + j];
      zero[b] = s > 0 ? 0 : 1;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let j = 0; j < dim; j++) qm[b * dim + j] = vectors[o + j] * inv;
    }
    matmul({ data: qm, rows: nb, cols: dim }, { data: ct, rows: dim, cols: m }, sims);
    for (let b = 0; b < nb; b++) {
      if (zero[b]) continue;
      const q = queries[q0 + b];
      topS.fill(-Infinity);
      topI.fill(-1);
      for (let c = 0; c < m; c++) {
        if (!live[c]) continue;
        const v = sims[b * m + c];
        if (v <= topS[k - 1]) continue;
        const id = cands[c];
        if (id === q || (opts.exclude && opts.exclude(q, id))) continue;
        let pos = k - 1;
        while (pos > 0 && topS[pos - 1] < v) {
          topS[pos] = topS[pos - 1];
          topI[pos] = topI[pos - 1];
          pos--;
        }
        topS[pos] = v;
        topI[pos] = id;
      }
      out.set(topI, (q0 + b) * k);
    }
  }
  return out;
}

/** Share of the neighbours (all queries × k slots; missing neighbours count as misses) that `same(query, neighbour)`. */
export function neighbourPrecision(neighbours: Int32Array, queries: Int32Array, k: number, same: (query: number, neighbour: number) => boolean): number {
  if (neighbours.length !== queries.length * k) throw new FeatureError(`neighbourPrecision: ${neighbours.length} neighbours for ${queries.length} queries × ${k}`);
  if (queries.length === 0) return Number.NaN;
  let hits = 0;
  for (let i = 0; i < queries.length; i++) {
    for (let t = 0; t < k; t++) {
      const nb = neighbours[i * k + t];
      if (nb >= 0 && same(queries[i], nb)) hits++;
    }
  }
  return hits / (queries.length * k);
}

/** Precision@k of a label (labelOf[row]; negative = no label, never a match). */
export function labelPrecision(neighbours: Int32Array, queries: Int32Array, k: number, labelOf: Int32Array): number {
  return neighbourPrecision(neighbours, queries, k, (q, nb) => labelOf[q] >= 0 && labelOf[q] === labelOf[nb]);
}

/** Expected precision of random neighbours: per query, the share of the other candidates with its label. */
export function chanceLabelPrecision(queries: Int32Array, labelOf: Int32Array, candidates: Int32Array): number {
  const count = new Map<number, number>();
  for (const c of candidates) if (labelOf[c] >= 0) count.set(labelOf[c], (count.get(labelOf[c]) ?? 0) + 1);
  const inCands = new Set(candidates);
  let s = 0;
  for (const q of queries) {
    const same = (count.get(labelOf[q]) ?? 0) - (inCands.has(q) && labelOf[q] >= 0 ? 1 : 0);
    s += same / (candidates.length - (inCands.has(q) ? 1 : 0));
  }
  return queries.length ? s / queries.length : Number.NaN;
}

/**
 * Purity of clusters against labels (e.g. the synthetic communities): the share of the items with both (≥ 0) whose
 * cluster's most common label is their own; and inverse, the share whose label's most common cluster is their own
 * (low when a label is split over clusters).
 */
export function clusterPurity(clusters: Int32Array, labels: Int32Array): { purity: number; inverse: number; items: number } {
  if (clusters.length !== labels.length) throw new FeatureError(`clusterPurity: ${clusters.length} clusters for ${labels.length} labels`);
  let kc = 0;
  let kl = 0;
  for (let i = 0; i < clusters.length; i++) {
    kc = Math.max(kc, clusters[i] + 1);
    kl = Math.max(kl, labels[i] + 1);
  }
  const counts = new Float64Array(kc * kl);
  let items = 0;
  for (let i = 0; i < clusters.length; i++) {
    if (clusters[i] < 0 || labels[i] < 0) continue;
    counts[clusters[i] * kl + labels[i]]++;
    items++;
  }
  if (items === 0) return { purity: 0, inverse: 0, items };
  let byCluster = 0;
  for (let c = 0; c < kc; c++) {
    let best = 0;
    for (let l = 0; l < kl; l++) best = Math.max(best, counts[c * kl + l]);
    byCluster += best;
  }
  let byLabel = 0;
  for (let l = 0; l < kl; l++) {
    let best = 0;
    for (let c = 0; c < kc; c++) best = Math.max(best, counts[c * kl + l]);
    byLabel += best;
  }
  return { purity: byCluster / items, inverse: byLabel / items, items };
}
