/**
 * Co-watching communities of items from user histories, with the content topics explained away: spectral
 * clustering of the cross-topic co-occurrence graph.
 *
 * Two items are linked by every history that holds both, with weight 1 / (n_u − 1) per history of n_u distinct
 * items (each history spreads one unit per item), and only when their content topics differ: a pair of the same
 * topic co-occurs because users follow topics, which the content vectors already carry, and would drown the
 * collaborative signal. The clusters are then found as in normalised spectral clustering (Ng, Jordan & Weiss, "On
 * spectral clustering: analysis and an algorithm", NIPS 2001):
 * 1. the largest eigenvectors of D^−½ W D^−½ (subspace.ts, the trivial √degree vector deflated);
 * 2. the number of communities k by the largest ratio of consecutive eigenvalues (the eigengap) among kMin..kMax,
 *    unless k is given;
 * 3. spherical k-means (kmeans.ts, several seeds, the most cohesive kept) on the rows of D^−½ V, normalised;
 * 4. label propagation: each item moves to the community it is most linked to, the links to a community divided by
 *    √(its volume), until nothing moves (at most `propagationRounds`), which repairs rare items whose spectral
 *    coordinates are noisy.
 * Items with no cross-topic link (never in a history with an item of another topic) get −1.
 *
 * On data/small (4,000 items, 32 planted communities invisible in content, 24 topics; measured 2026-11-23 with
 * runs/scratch-style scripts and `bench:oracle-gap`): the eigengap picks k = 32 (ratio 1.17, runner-up 1.06), and
 * 94.5% of items fall in a cluster whose majority is their community, against 82.7% for spherical k-means of the
 * Word2Vec residual (the fused-clusters table); the planted click function with these clusters as communities
 * reaches 0.863 valid AUC, against 0.839 with the k-means clusters (oracle 0.869). About 30 s on 2 cores there.
 * On data/tiny (500 users) the histories are too few: the eigengap is flat (ratio 1.04) and the clusters unusable.
 */
import { topEigenpairs } from '../linalg/subspace';
import { sphericalKMeans } from './kmeans';
import { FeatureError } from './pca';
import type { ItemSequences } from '../data/schema';
import { rowsByUser, type Sequences } from './word2vec';

/**
 * Below this λ ratio the chosen eigengap is no clearer than the spectrum's ordinary steps (data/small: 1.17 against
 * ≤ 1.06 elsewhere; data/tiny: 1.03 against 1.03): the histories show no community structure to trust.
 */
export const WEAK_GAP_RATIO = 1.1;

export interface CommunityOptions {
  /** Number of communities, or 'auto': the eigengap among kMin..kMax. Default 'auto'. */
  k: number | 'auto';
  /** Smallest k 'auto' considers. Default 4. */
  kMin: number;
  /** Largest k 'auto' considers. Default 64. */
  kMax: number;
  /** k-means seeds tried; the most cohesive result is kept. Default 8. */
  restarts: number;
  /** Most label-propagation rounds (0: none). Default 10. */
  propagationRounds: number;
  /**
   * Residual ‖M·v − λ·v‖ at which the eigen-solver stops (linalg/subspace.ts). Default 1e-3: against 1e-4 the same
   * k, eigengap and purity in half the steps (bench:communities, small and 4× users, 2026-11-23).
   */
  tolerance: number;
  /** Seed of the eigen-solver's start block and of the k-means draws. Default 1. */
  seed: number;
  /** Called with a line per stage (eigen-solver steps included). Default none. */
  onProgress: ((line: string) => void) | null;
}

export const DEFAULT_COMMUNITY_OPTIONS: Readonly<CommunityOptions> = Object.freeze({
  k: 'auto' as const,
  kMin: 4,
  kMax: 64,
  restarts: 8,
  propagationRounds: 10,
  tolerance: 1e-3,
  seed: 1,
  onProgress: null,
});

export interface Communities {
  /** Community per item id (index = id, 0 = padding), −1 for items with no cross-topic link. */
  labels: Int32Array;
  k: number;
  /** How k was set: 'given', or 'eigengap' with the ratio that chose it. */
  chosenBy: 'given' | 'eigengap';
  /** λ_{k−1} / λ_k of the chosen k (the nontrivial eigenvalues, decreasing), and the runner-up's k and ratio. */
  gap: { ratio: number; runnerUpK: number | null; runnerUpRatio: number | null; weak: boolean } | null;
  /** The nontrivial eigenvalues computed, decreasing. */
  eigenvalues: number[];
  /** Items with at least one cross-topic link. */
  linkedItems: number;
  /** Histories with at least one cross-topic pair. */
  histories: number;
  /** Members per community. */
  sizes: number[];
  /** Items moved by label propagation, and its rounds. */
  propagation: { moved: number; rounds: number };
  /** Eigen-solver steps and its final residual. */
  solver: { iterations: number; residual: number; converged: boolean };
  /** Wall seconds per stage. */
  seconds: { graph: number; eigen: number; kmeans: number; propagation: number };
}

/**
 * The cross-topic co-occurrence graph, kept as its histories: per history the distinct items grouped by topic, so
 * that W·X costs O(events × columns) without ever forming W.
 */
export class CoWatchGraph {
  /** Items 1..numItems; vectors have numItems + 1 rows (row 0 padding, always zero). */
  readonly n: number;
  /** Per history: [start, end) in `items`; its topic runs in `runs`. */
  private readonly offsets: Int32Array;
  private readonly items: Int32Array;
  /** Start of each topic run, as positions in `items`, per history a slice [runOffsets[u], runOffsets[u + 1]). */
  private readonly runStarts: Int32Array;
  private readonly runOffsets: Int32Array;
  private readonly weights: Float64Array;
  /** W·1: the masked degree of each item. */
  readonly degree: Float64Array;

  constructor(sequences: Sequences, numItems: number, topics: Int32Array) {
    if (topics.length !== numItems + 1) throw new FeatureError(`communities: ${topics.length} topics for ${numItems} items (+ padding)`);
    this.n = numItems + 1;
    const hist = sequences.offsets.length - 1;
    const offsets: number[] = [0];
    const items: number[] = [];
    const runStarts: number[] = [];
    const runOffsets: number[] = [0];
    const weights: number[] = [];
    const seen = new Int32Array(this.n).fill(-1);
    let solo = -2; // items without a topic (−1) each form their own run
    for (let u = 0; u < hist; u++) {
      const distinct: number[] = [];
      for (let p = sequences.offsets[u]; p < sequences.offsets[u + 1]; p++) {
        const id = sequences.values[p];
        if (id <= 0) continue;
        if (id > numItems) throw new FeatureError(`communities: history ${u} holds item ${id}, above the ${numItems} items`);
        if (seen[id] === u) continue;
        seen[id] = u;
        distinct.push(id);
      }
      if (distinct.length < 2) continue;
      const key = (id: number) => (topics[id] >= 0 ? topics[id] : solo--);
      const keyed = distinct.map((id) => [key(id), id] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      if (keyed[0][0] === keyed[keyed.length - 1][0]) continue; // one topic: no cross-topic pair
      for (let j = 0; j < keyed.length; j++) {
        if (j === 0 || keyed[j][0] !== keyed[j - 1][0]) runStarts.push(items.length);
        items.push(keyed[j][1]);
      }
      runOffsets.push(runStarts.length);
      offsets.push(items.length);
      weights.push(1 / (distinct.length - 1));
    }
    this.offsets = Int32Array.from(offsets);
    this.items = Int32Array.from(items);
    this.runStarts = Int32Array.from(runStarts);
    this.runOffsets = Int32Array.from(runOffsets);
    this.weights = Float64Array.from(weights);
    this.degree = this.multiply(new Float64Array(this.n).fill(1), 1);
  }

  /** Histories that carry at least one cross-topic pair. */
  get histories(): number {
    return this.weights.length;
  }

  /** Y = W·X for X [n × b] row-major (the masked co-occurrence matrix, zero diagonal). */
  multiply(x: Float64Array, b: number): Float64Array {
    const y = new Float64Array(this.n * b);
    const total = new Float64Array(b);
    let runSums = new Float64Array(16 * b);
    for (let u = 0; u < this.weights.length; u++) {
      const w = this.weights[u];
      const r0 = this.runOffsets[u];
      const r1 = this.runOffsets[u + 1];
      const end = this.offsets[u + 1];
      if ((r1 - r0) * b > runSums.length) runSums = new Float64Array((r1 - r0) * b * 2);
      total.fill(0);
      for (let r = r0; r < r1; r++) {
        const s = (r - r0) * b;
        runSums.fill(0, s, s + b);
        const stop = r + 1 < r1 ? this.runStarts[r + 1] : end;
        for (let p = this.runStarts[r]; p < stop; p++) {
          const row = this.items[p] * b;
          for (let j = 0; j < b; j++) runSums[s + j] += x[row + j];
        }
        for (let j = 0; j < b; j++) total[j] += runSums[s + j];
      }
      for (let r = r0; r < r1; r++) {
        const s = (r - r0) * b;
        const stop = r + 1 < r1 ? this.runStarts[r + 1] : end;
        for (let p = this.runStarts[r]; p < stop; p++) {
          const row = this.items[p] * b;
          for (let j = 0; j < b; j++) y[row + j] += w * (total[j] - runSums[s + j]);
        }
      }
    }
    return y;
  }
}

/**
 * One history per user: the concatenation of all of the user's item_seq rows (CoWatchGraph keeps each item once).
 * Users with more than the stored 100 items have several rows that are not prefixes of one another (shifted
 * windows); kept apart, each would count the same user's items again and build a dense clique that takes the
 * leading eigenvectors (on data/small the eigengap at k = 32 vanished with word2vec's distinct rows as histories).
 */
export function userHistories(seqs: ItemSequences): Sequences {
  const { maxUser, start, order } = rowsByUser(seqs);
  const users: number[] = [];
  for (let u = 0; u <= maxUser; u++) if (start[u + 1] > start[u]) users.push(u);
  const len = (r: number) => seqs.offsets[r + 1] - seqs.offsets[r];
  const offsets = new Int32Array(users.length + 1);
  users.forEach((u, i) => {
    let tokens = 0;
    for (let j = start[u]; j < start[u + 1]; j++) tokens += len(order[j]);
    offsets[i + 1] = offsets[i] + tokens;
  });
  const values = new Int32Array(offsets[users.length]);
  users.forEach((u, i) => {
    let at = offsets[i];
    for (let j = start[u]; j < start[u + 1]; j++) {
      const r = order[j];
      values.set(seqs.values.subarray(seqs.offsets[r], seqs.offsets[r + 1]), at);
      at += len(r);
    }
  });
  return { offsets, values };
}

/** The nontrivial eigenvalue count (k − 1) with the largest λ_j / λ_{j+1} for k in [kMin, kMax]. */
export function eigengapK(values: ArrayLike<number>, kMin: number, kMax: number): { k: number; ratio: number; runnerUpK: number | null; runnerUpRatio: number | null } {
  const ratios: { k: number; ratio: number }[] = [];
  for (let k = Math.max(2, kMin); k <= kMax && k < values.length + 1; k++) {
    const a = values[k - 2];
    const b = values[k - 1];
    if (!(a > 0)) break;
    ratios.push({ k, ratio: b > 0 ? a / b : Infinity });
  }
  if (ratios.length === 0) throw new FeatureError(`communities: no positive eigenvalues to choose k among ${kMin}..${kMax}`);
  ratios.sort((p, q) => q.ratio - p.ratio || p.k - q.k);
  return { k: ratios[0].k, ratio: ratios[0].ratio, runnerUpK: ratios[1]?.k ?? null, runnerUpRatio: ratios[1]?.ratio ?? null };
}

/**
 * Communities of items 1..numItems from histories (item ids, 0 = padding, ignored) and a content topic per item
 * (index = id; −1 = no topic: the item's pairs are never masked).
 */
export function coWatchCommunities(sequences: Sequences, numItems: number, topics: Int32Array, options: Partial<CommunityOptions> = {}): Communities {
  const o = { ...DEFAULT_COMMUNITY_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as CommunityOptions;
  if (o.k !== 'auto' && (!Number.isInteger(o.k) || o.k < 2)) throw new FeatureError(`communities: k = ${o.k} must be an integer ≥ 2 or 'auto'`);
  if (!Number.isInteger(o.kMin) || !Number.isInteger(o.kMax) || o.kMin < 2 || o.kMax < o.kMin) {
    throw new FeatureError(`communities: kMin = ${o.kMin}, kMax = ${o.kMax} must be integers with 2 ≤ kMin ≤ kMax`);
  }
  const say = (line: string) => o.onProgress?.(line);
  let t0 = performance.now();
  const lap = () => {
    const now = performance.now();
    const s = (now - t0) / 1000;
    t0 = now;
    return s;
  };
  const graph = new CoWatchGraph(sequences, numItems, topics);
  const graphSeconds = lap();
  const n = graph.n;
  const d = graph.degree;
  const linked: number[] = [];
  const dm = new Float64Array(n);
  let sqrtSum = 0;
  for (let i = 1; i < n; i++) {
    if (d[i] > 0) {
      linked.push(i);
      dm[i] = 1 / Math.sqrt(d[i]);
      sqrtSum += d[i];
    }
  }
  const maxK = o.k === 'auto' ? o.kMax : o.k;
  if (linked.length < maxK + 2) {
    throw new FeatureError(`communities: ${linked.length} items have a cross-topic co-occurrence in ${graph.histories} histories; too few for ${maxK} communities`);
  }
  say(`communities: ${graph.histories} histories with cross-topic pairs, ${linked.length} of ${numItems} items linked`);
  // M = D^−½ W D^−½ with the trivial eigenvector √d (eigenvalue 1) deflated.
  const trivial = new Float64Array(n);
  for (const i of linked) trivial[i] = Math.sqrt(d[i] / sqrtSum);
  const apply = (x: Float64Array, b: number) => {
    const z = new Float64Array(x.length);
    for (let i = 0; i < n; i++) for (let j = 0; j < b; j++) z[i * b + j] = x[i * b + j] * dm[i];
    const y = graph.multiply(z, b);
    for (let i = 0; i < n; i++) for (let j = 0; j < b; j++) y[i * b + j] *= dm[i];
    return y;
  };
  const count = o.k === 'auto' ? o.kMax : o.k - 1;
  const eig = topEigenpairs(apply, n, count, {
    seed: o.seed,
    tolerance: o.tolerance,
    deflate: trivial,
    onIteration: (it, res) => {
      if (it % 5 === 0) say(`communities: eigen-solver step ${it}, residual ${res.toExponential(2)}`);
    },
  });
  const eigenSeconds = lap();
  const eigenvalues = Array.from(eig.values);
  let k: number;
  let gap: Communities['gap'] = null;
  if (o.k === 'auto') {
    const g = eigengapK(eigenvalues, o.kMin, o.kMax);
    k = g.k;
    gap = { ratio: g.ratio, runnerUpK: g.runnerUpK, runnerUpRatio: g.runnerUpRatio, weak: g.ratio < WEAK_GAP_RATIO };
    say(`communities: eigengap chooses k = ${k} (λ ratio ${g.ratio.toFixed(3)}; runner-up k = ${g.runnerUpK}, ${g.runnerUpRatio?.toFixed(3)})`);
    if (gap.weak) {
      say(`communities: WARNING the eigengap is weak (ratio ${g.ratio.toFixed(3)} < ${WEAK_GAP_RATIO}): the histories show no clear community structure, so these ${k} clusters are unreliable (more histories, or a given k)`);
    }
  } else k = o.k;
  // Spectral coordinates of the linked items: rows of D^−½ V (k − 1 nontrivial vectors), unit-normalised by k-means.
  const dim = k - 1;
  const coords = new Float32Array(n * dim);
  for (const i of linked) for (let j = 0; j < dim; j++) coords[i * dim + j] = eig.vectors[i * eig.count + j] * dm[i];
  let best: { labels: Int32Array; cohesion: number } | null = null;
  for (let r = 0; r < o.restarts; r++) {
    const km = sphericalKMeans(coords, dim, k, { seed: o.seed + r });
    const cohesion = kmeansCohesion(coords, dim, km.labels, km.centroids);
    if (!best || cohesion > best.cohesion) best = { labels: km.labels, cohesion };
  }
  const labels = best!.labels;
  labels[0] = -1;
  const kmeansSeconds = lap();
  const propagation = propagate(graph, labels, k, o.propagationRounds);
  const propagationSeconds = lap();
  say(`communities: label propagation moved ${propagation.moved} items in ${propagation.rounds} rounds`);
  const sizes = new Array<number>(k).fill(0);
  for (let i = 1; i < n; i++) if (labels[i] >= 0) sizes[labels[i]]++;
  return {
    labels,
    k,
    chosenBy: o.k === 'auto' ? 'eigengap' : 'given',
    gap,
    eigenvalues,
    linkedItems: linked.length,
    histories: graph.histories,
    sizes,
    propagation,
    solver: { iterations: eig.iterations, residual: eig.residual, converged: eig.converged },
    seconds: { graph: graphSeconds, eigen: eigenSeconds, kmeans: kmeansSeconds, propagation: propagationSeconds },
  };
}

/** Σ over labelled rows of cos(row, its centroid). */
function kmeansCohesion(x: Float32Array, dim: number, labels: Int32Array, centroids: Float64Array): number {
  let total = 0;
  for (let r = 0; r < labels.length; r++) {
    const c = labels[r];
    if (c < 0) continue;
    let dot = 0;
    let nn = 0;
    for (let j = 0; j < dim; j++) {
      dot += x[r * dim + j] * centroids[c * dim + j];
      nn += x[r * dim + j] ** 2;
    }
    if (nn > 0) total += dot / Math.sqrt(nn);
  }
  return total;
}

/**
 * Label propagation in place: each linked item takes the community c maximising (W·H)_ic / √vol(c), H the one-hot
 * labels and vol(c) the summed degree of c's members; all items move at once per round, until none moves.
 */
function propagate(graph: CoWatchGraph, labels: Int32Array, k: number, maxRounds: number): { moved: number; rounds: number } {
  const n = graph.n;
  const d = graph.degree;
  const start = Int32Array.from(labels);
  let rounds = 0;
  for (; rounds < maxRounds; rounds++) {
    const h = new Float64Array(n * k);
    const vol = new Float64Array(k);
    for (let i = 1; i < n; i++) {
      if (labels[i] < 0) continue;
      h[i * k + labels[i]] = 1;
      vol[labels[i]] += d[i];
    }
    const s = graph.multiply(h, k);
    let changed = 0;
    const next = Int32Array.from(labels);
    for (let i = 1; i < n; i++) {
      if (!(d[i] > 0)) continue;
      let bestC = labels[i];
      let bestV = -Infinity;
      for (let c = 0; c < k; c++) {
        if (!(vol[c] > 0)) continue;
        const v = s[i * k + c] / Math.sqrt(vol[c]);
        if (v > bestV) {
          bestV = v;
          bestC = c;
        }
      }
      if (bestC !== labels[i]) {
        next[i] = bestC;
        changed++;
      }
    }
    labels.set(next);
    if (changed === 0) break;
  }
  let moved = 0;
  for (let i = 1; i < n; i++) if (labels[i] !== start[i]) moved++;
  return { moved, rounds };
}
