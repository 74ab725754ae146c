/**
 * Checks of the planted signal that need no neural model, reported in ground_truth.json:
 * - AUC of the true probability (oracle) and of history-blind or weakened scores computed with the TRUE parameters;
 * - whether topics can be recovered from the content vectors (nearest-neighbour precision@k), and that fusing
 *   text and image beats either alone;
 * - that communities cannot be recovered from content, but can from co-occurrence in the sequences.
 */
import { Matrix, solve } from 'ml-matrix';
import { matmul } from '../../linalg/matmul';
import { MICROLENS_DIMS } from '../schema';
import type { Rng } from '../../util/rng';
import { exactAuc } from './auc';
import type { RowScores } from './clicks';
import type { ItemTruth } from './items';
import type { RowSet } from './rows';
import type { UserTruth } from './users';

/** AUCs of one split's labels under several scores. */
export interface ProxyAucs {
  /** True p (the oracle). */
  oracle: number;
  /** βh · mean(sim) + base: mean pooling of the history instead of the soft maximum. */
  meanPooled: number;
  /** βp · popStd + bias: popularity and item bias only (no history). */
  noHistory: number;
  /** Mean true p of the target item over the train rows: the best score any history-blind model could learn. */
  itemMeanP: number;
  /** Train positive rate of the (likes_level, views_level) cell of the target. */
  levelsOnly: number;
  /** Oracle with the community term dropped (content similarity only). */
  contentOnly: number;
  /** Oracle with the content term dropped (community match only). */
  communityOnly: number;
  /**
   * Oracle with each item's latent replaced by its topic's mean: what perfect knowledge of topics and communities
   * (but not of item-level content) reaches. valid/test only.
   */
  groupLevel?: number;
  /**
   * Oracle with each latent replaced by its best linear estimate from item_emb_d128 (ridge fit over all items),
   * true communities and biases: what a model that takes content from item_emb_d128 alone could reach. valid/test only.
   */
  latentFromItemEmb?: number;
}

export interface SplitEval {
  rows: RowSet;
  scores: RowScores;
  p: Float64Array;
  labels: Uint8Array;
}

/** Per-item statistics learned from train that history-blind proxies use. */
export interface TrainTables {
  itemMeanP: Float64Array;
  levelRate: Float64Array;
}

export function trainTables(items: ItemTruth, train: SplitEval): TrainTables {
  const n = items.n;
  const sumP = new Float64Array(n + 1);
  const cnt = new Float64Array(n + 1);
  const lvlPos = new Float64Array(100);
  const lvlCnt = new Float64Array(100);
  let pAll = 0;
  for (let i = 0; i < train.rows.rows; i++) {
    const x = train.rows.target[i];
    sumP[x] += train.p[i];
    cnt[x]++;
    pAll += train.p[i];
    const cell = items.likesLevel[x] * 10 + items.viewsLevel[x];
    lvlPos[cell] += train.labels[i];
    lvlCnt[cell]++;
  }
  const mean = pAll / Math.max(1, train.rows.rows);
  const itemMeanP = Float64Array.from(sumP, (s, i) => (cnt[i] > 0 ? s / cnt[i] : mean));
  const levelRate = Float64Array.from(lvlPos, (s, c) => (lvlCnt[c] > 0 ? s / lvlCnt[c] : mean));
  return { itemMeanP, levelRate };
}

export function proxyAucs(betaHistory: number, items: ItemTruth, split: SplitEval, tables: TrainTables): ProxyAucs {
  const n = split.rows.rows;
  const { scores: s, labels: y } = split;
  const f = (g: (i: number) => number) => exactAuc(y, Float64Array.from({ length: n }, (_, i) => g(i)));
  return {
    oracle: exactAuc(y, split.p),
    meanPooled: f((i) => betaHistory * s.meanMatch[i] + s.base[i]),
    noHistory: f((i) => s.base[i]),
    itemMeanP: f((i) => tables.itemMeanP[split.rows.target[i]]),
    levelsOnly: f((i) => {
      const x = split.rows.target[i];
      return tables.levelRate[items.likesLevel[x] * 10 + items.viewsLevel[x]];
    }),
    contentOnly: f((i) => betaHistory * s.contentMatch[i] + s.base[i]),
    communityOnly: f((i) => betaHistory * s.communityMatch[i] + s.base[i]),
  };
}

/** Unit vectors of each item's topic mean latent, [(N+1) × D]. */
export function topicMeanLatents(items: ItemTruth, numTopics: number): Float32Array {
  const D = items.latentDim;
  const mean = new Float64Array(numTopics * D);
  for (let i = 1; i <= items.n; i++) for (let d = 0; d < D; d++) mean[items.topic[i] * D + d] += items.z[i * D + d];
  const out = new Float32Array((items.n + 1) * D);
  for (let i = 1; i <= items.n; i++) {
    const o = items.topic[i] * D;
    let nrm = 0;
    for (let d = 0; d < D; d++) nrm += mean[o + d] ** 2;
    nrm = Math.sqrt(nrm) || 1;
    for (let d = 0; d < D; d++) out[i * D + d] = mean[o + d] / nrm;
  }
  return out;
}

/**
 * The ridge map W [(w + 1) × D] of latents on item vectors, fit over the first n rows:
 * W = (XᵀX + λI)⁻¹ XᵀZ with X = [e, 1] (row i = emb[i·w ..], its latent z[(i + 1)·D ..]), λ = 1e-3 · trace(XᵀX) / (w + 1).
 */
export function ridgeMap(emb: ArrayLike<number>, n: number, w: number, z: ArrayLike<number>, D: number): Float64Array {
  const m = w + 1;
  const xtx = new Float64Array(m * m);
  const xtz = new Float64Array(m * D);
  const row = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < w; j++) row[j] = emb[i * w + j];
    row[w] = 1;
    for (let a = 0; a < m; a++) {
      const ra = row[a];
      for (let b = 0; b < m; b++) xtx[a * m + b] += ra * row[b];
      for (let d = 0; d < D; d++) xtz[a * D + d] += ra * z[(i + 1) * D + d];
    }
  }
  let tr = 0;
  for (let a = 0; a < m; a++) tr += xtx[a * m + a];
  for (let a = 0; a < m; a++) xtx[a * m + a] += (1e-3 * tr) / m;
  const A = new Matrix(m, m);
  const B = new Matrix(m, D);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) A.set(a, b, xtx[a * m + b]);
    for (let d = 0; d < D; d++) B.set(a, d, xtz[a * D + d]);
  }
  const W = solve(A, B);
  const out = new Float64Array(m * D);
  for (let a = 0; a < m; a++) for (let d = 0; d < D; d++) out[a * D + d] = W.get(a, d);
  return out;
}

/** Row r of emb [· × w] through the ridge map W: [e_r, 1] W → out [D]. */
export function applyRidgeMap(W: Float64Array, emb: ArrayLike<number>, r: number, w: number, D: number, out: Float64Array): void {
  for (let d = 0; d < D; d++) {
    let v = W[w * D + d];
    for (let j = 0; j < w; j++) v += emb[r * w + j] * W[j * D + d];
    out[d] = v;
  }
}

/**
 * Unit vectors of the ridge estimate of each item's latent from an embedding (rows = items 1..N, width w), fit over
 * all items (`ridgeMap`), and the R² of the estimate.
 */
export function latentsFromEmbedding(items: ItemTruth, emb: Float32Array, w: number): { zUnit: Float32Array; r2: number } {
  const n = items.n;
  const D = items.latentDim;
  const W = ridgeMap(emb, n, w, items.z, D);
  const zUnit = new Float32Array((n + 1) * D);
  const zh = new Float64Array(D);
  let ss = 0;
  let st = 0;
  for (let i = 0; i < n; i++) {
    applyRidgeMap(W, emb, i, w, D, zh);
    let nrm = 0;
    for (let d = 0; d < D; d++) {
      nrm += zh[d] * zh[d];
      const z = items.z[(i + 1) * D + d];
      ss += (zh[d] - z) ** 2;
      st += z * z;
    }
    nrm = Math.sqrt(nrm) || 1;
    for (let d = 0; d < D; d++) zUnit[(i + 1) * D + d] = zh[d] / nrm;
  }
  return { zUnit, r2: 1 - ss / st };
}

/** Cosine nearest-neighbour precision@k of a label (topic or community) for the given query items. */
export function neighbourPrecision(
  emb: Float32Array,
  dim: number,
  labelOf: Int32Array,
  queries: Int32Array,
  k: number,
): number {
  // emb row i − 1 is item i; labelOf is indexed by item id.
  const n = emb.length / dim;
  const unit = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += emb[i * dim + d] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) unit[i * dim + d] = emb[i * dim + d] * inv;
  }
  const ut = new Float64Array(dim * n);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) ut[d * n + i] = unit[i * dim + d];
  const block = 64;
  let hits = 0;
  const topS = new Float64Array(k);
  const topI = new Int32Array(k);
  const qm = new Float64Array(block * dim);
  const sims = new Float64Array(block * n);
  for (let q0 = 0; q0 < queries.length; q0 += block) {
    const nb = Math.min(block, queries.length - q0);
    for (let j = 0; j < nb; j++) qm.set(unit.subarray((queries[q0 + j] - 1) * dim, queries[q0 + j] * dim), j * dim);
    matmul({ data: qm, rows: nb, cols: dim }, { data: ut, rows: dim, cols: n }, sims);
    for (let j = 0; j < nb; j++) {
      const self = queries[q0 + j];
      topS.fill(-Infinity);
      topI.fill(-1);
      for (let i = 0; i < n; i++) {
        if (i + 1 === self) continue;
        const v = sims[j * n + i];
        if (v <= topS[k - 1]) continue;
        let pos = k - 1;
        while (pos > 0 && topS[pos - 1] < v) {
          topS[pos] = topS[pos - 1];
          topI[pos] = topI[pos - 1];
          pos--;
        }
        topS[pos] = v;
        topI[pos] = i + 1;
      }
      for (let t = 0; t < k; t++) if (topI[t] > 0 && labelOf[topI[t]] === labelOf[self]) hits++;
    }
  }
  return hits / (queries.length * k);
}

/** Expected precision@k of random neighbours (the chance level) for these queries. */
export function chancePrecision(labelOf: Int32Array, groups: Int32Array[], queries: Int32Array): number {
  const n = labelOf.length - 1;
  let s = 0;
  for (const q of queries) s += (groups[labelOf[q]].length - 1) / (n - 1);
  return s / queries.length;
}

/**
 * Random-projection sketch of the item–item co-occurrence rows (same user sequence), with contexts weighted by
 * 1/sqrt(occurrences): row i − 1 ≈ Σ_j C_ij r_j / sqrt(n_j) for Gaussian r_j. Cosine of sketches approximates the
 * cosine of the weighted co-occurrence rows. Returns the sketch and the occurrence counts (by item id).
 */
export function cooccurrenceSketch(
  items: ItemTruth,
  users: UserTruth,
  maxUsers: number,
  dim: number,
  r: Rng,
): { sketch: Float32Array; occurrences: Int32Array } {
  const n = items.n;
  const U = Math.min(users.n, maxUsers);
  const occ = new Int32Array(n + 1);
  for (let s = users.seqOffsets[1]; s < users.seqOffsets[U + 1]; s++) occ[users.seqItems[s]]++;
  const proj = new Float32Array((n + 1) * dim);
  r.fillNormal(proj);
  for (let i = 1; i <= n; i++) {
    const w = occ[i] > 0 ? 1 / Math.sqrt(occ[i]) : 0;
    for (let d = 0; d < dim; d++) proj[i * dim + d] *= w;
  }
  const sketch = new Float32Array(n * dim);
  const ctx = new Float64Array(dim);
  for (let u = 1; u <= U; u++) {
    const a = users.seqOffsets[u];
    const b = users.seqOffsets[u + 1];
    ctx.fill(0);
    for (let s = a; s < b; s++) {
      const o = users.seqItems[s] * dim;
      for (let d = 0; d < dim; d++) ctx[d] += proj[o + d];
    }
    for (let s = a; s < b; s++) {
      const i = users.seqItems[s];
      const o = i * dim;
      const so = (i - 1) * dim;
      for (let d = 0; d < dim; d++) sketch[so + d] += ctx[d] - proj[o + d];
    }
  }
  return { sketch, occurrences: occ };
}

/** Query items for precision@k: a random subset of items seen at least `minOcc` times (sorted ids). */
export function pickQueries(occurrences: Int32Array, count: number, minOcc: number, r: Rng): Int32Array {
  const eligible: number[] = [];
  for (let i = 1; i < occurrences.length; i++) if (occurrences[i] >= minOcc) eligible.push(i);
  const pick = r.sampleSorted(eligible.length, Math.min(count, eligible.length));
  return Int32Array.from(pick, (j) => eligible[j]);
}

export interface LengthStats {
  min: number;
  median: number;
  mean: number;
  max: number;
}

/** Statistics of the visible (stored) history lengths of a row set. */
export function historyLengthStats(rows: RowSet): LengthStats {
  const len = Float64Array.from(rows.prefix, (t) => Math.min(t, MICROLENS_DIMS.storedSeqLen)).sort();
  const n = len.length;
  const mean = len.reduce((s, v) => s + v, 0) / n;
  const median = n % 2 ? len[(n - 1) / 2] : (len[n / 2 - 1] + len[n / 2]) / 2;
  return { min: len[0], median, mean: Math.round(mean * 100) / 100, max: len[n - 1] };
}
