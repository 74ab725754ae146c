/**
 * The generator's planted click function evaluated on a data folder's valid rows with some of its hidden inputs
 * replaced (bench/oracleGap.ts): e.g. each item's community replaced by its Task 1 k-means cluster, which measures
 * how far a table's community information alone caps any model that reads it, with the true content latents and
 * biases still in place. Synthetic data only (reads <root>/oracle/).
 *
 *   score = βh · LME_τ over the valid history h of [wContent · cos(z_h, z_x) + wCommunity · (c_h = c_x)]
 *           + βp · popStd_x + bias_x                       (ground_truth.json's clickModel; the intercept drops out)
 * With the true communities this is the oracle itself: `plantedAuc(root)` reproduces ground_truth.json's valid
 * oracle AUC (bench/oracleGap.ts stops when it does not).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';
import { exactAuc } from '../../src/data/synth/auc';
import { readItemTruth } from '../../src/data/synth/itemTruthFile';
import { clustersFromBlock } from '../../src/features/fuse';
import { Matrix, solve } from 'ml-matrix';
import { applyRidgeMap, ridgeMap } from '../../src/data/synth/diagnostics';

export interface PlantedOptions {
  /** Community per item id (index = id); default the true communities. Ids with different values never match. */
  community?: Int32Array;
  /** Unit content latent per item id (row id of width latentDim); default the true latents, normalised. */
  latentUnit?: Float64Array;
  /** The per-item bias term: true = the generator's (default), false = none, or given values per item id. */
  bias?: boolean | Float64Array;
}

interface ClickParams {
  wContent: number;
  wCommunity: number;
  temperature: number;
  betaHistory: number;
  betaPopularity: number;
}

interface Split {
  hist: ArrayLike<number>[];
  target: number[];
  labels: Uint8Array;
}

/** What the planted function needs of a data folder, read once per folder. */
interface Planted {
  c: ClickParams;
  intercept: number;
  biasSd: number;
  truth: ReturnType<typeof readItemTruth>;
  zUnit: Float64Array;
  D: number;
  split: (name: 'train' | 'valid') => Split;
}

const cache = new Map<string, Planted>();

function planted(root: string): Planted {
  const known = cache.get(root);
  if (known) return known;
  const gt = JSON.parse(readFileSync(path.join(root, 'oracle', 'ground_truth.json'), 'utf8')) as {
    config: { clicks: ClickParams; items: { itemBiasSd: number } };
    clickModel: { intercept: number };
  };
  const truth = readItemTruth(root, { numbers: true, latent: true });
  const D = truth.latentDim!;
  const zUnit = unitRows(truth.latent!, truth.numItems + 1, D);
  const splits = new Map<string, Split>();
  const split = (name: 'train' | 'valid'): Split => {
    let s = splits.get(name);
    if (!s) {
      const df = pl.readParquet(path.join(root, 'MicroLens_1M_x1', `${name}.parquet`), { columns: ['item_seq', 'item_id', 'label'] });
      s = {
        hist: df.getColumn('item_seq').toArray() as unknown as ArrayLike<number>[],
        target: df.getColumn('item_id').toArray() as number[],
        labels: Uint8Array.from(df.getColumn('label').toArray() as number[]),
      };
      splits.set(name, s);
    }
    return s;
  };
  const p: Planted = { c: gt.config.clicks, intercept: gt.clickModel.intercept, biasSd: gt.config.items.itemBiasSd, truth, zUnit, D, split };
  cache.set(root, p);
  return p;
}

/** Rows of x [rows × D] scaled to unit length (zero rows stay zero). */
function unitRows(x: ArrayLike<number>, rows: number, D: number): Float64Array {
  const out = new Float64Array(rows * D);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += x[i * D + d] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < D; d++) out[i * D + d] = x[i * D + d] * inv;
  }
  return out;
}

/** βh · LME_τ over the history + βp · popStd per row of a split (no bias, no intercept). */
function historyScores(p: Planted, sp: Split, community: Int32Array, zu: Float64Array): Float64Array {
  const { c, D, truth } = p;
  const out = new Float64Array(sp.target.length);
  const sims: number[] = [];
  for (let r = 0; r < sp.target.length; r++) {
    const x = sp.target[r];
    sims.length = 0;
    for (const h of Array.from(sp.hist[r])) {
      if (!(h > 0)) continue;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += zu[h * D + d] * zu[x * D + d];
      sims.push(c.wContent * dot + (community[h] === community[x] ? c.wCommunity : 0));
    }
    let lme = 0;
    if (sims.length > 0) {
      const mx = Math.max(...sims);
      let s = 0;
      for (const q of sims) s += Math.exp((q - mx) / c.temperature);
      lme = mx + c.temperature * Math.log(s / sims.length);
    }
    out[r] = c.betaHistory * lme + c.betaPopularity * truth.popularityStd![x];
  }
  return out;
}

/** Valid AUC of the planted click function with the given replacements. */
export function plantedAuc(root: string, opts: PlantedOptions = {}): number {
  const p = planted(root);
  const valid = p.split('valid');
  const scores = historyScores(p, valid, opts.community ?? p.truth.community, opts.latentUnit ?? p.zUnit);
  const bias = opts.bias === undefined || opts.bias === true ? p.truth.bias! : opts.bias === false ? null : opts.bias;
  if (bias) for (let r = 0; r < scores.length; r++) scores[r] += bias[valid.target[r]];
  return exactAuc(valid.labels, scores);
}

/**
 * The per-item bias as well as the item columns and the train rows tell it, every other input of the logit known
 * (the intercept too): the maximum a posteriori estimate per item, by Newton steps on the penalised Bernoulli
 * likelihood of its train rows, under the prior `levelPrior` (what likes_level and popularity say of the bias) or,
 * with `levels: false`, the generator's own N(0, itemBiasSd²). What a model could learn of the bias at best.
 */
export function estimatedBias(root: string, opts: { latentUnit?: Float64Array; community?: Int32Array; levels?: boolean } = {}): { bias: Float64Array; correlation: number } {
  const p = planted(root);
  const train = p.split('train');
  const offset = historyScores(p, train, opts.community ?? p.truth.community, opts.latentUnit ?? p.zUnit);
  const n = p.truth.numItems + 1;
  const { mean, variance } = opts.levels === false ? { mean: new Float64Array(n), variance: p.biasSd ** 2 } : levelPrior(root);
  const prior = 1 / variance;
  const b = Float64Array.from(mean);
  for (let step = 0; step < 6; step++) {
    const g = new Float64Array(n);
    const h = new Float64Array(n);
    for (let r = 0; r < train.target.length; r++) {
      const x = train.target[r];
      const q = 1 / (1 + Math.exp(-(p.intercept + offset[r] + b[x])));
      g[x] += train.labels[r] - q;
      h[x] += q * (1 - q);
    }
    for (let i = 1; i < n; i++) b[i] += (g[i] - prior * (b[i] - mean[i])) / (h[i] + prior);
  }
  return { bias: b, correlation: correlation(b, p.truth.bias!, n) };
}

/**
 * What the item columns show of the bias: the least-squares fit over all items (in-sample) of the true bias on a
 * one-hot of likes_level (deciles of popularity + bias + noise, item_feature.parquet) and the standardised
 * popularity; the fitted value per item and the residual variance.
 */
function levelPrior(root: string): { mean: Float64Array; variance: number } {
  const p = planted(root);
  const n = p.truth.numItems + 1;
  const df = pl.readParquet(path.join(root, 'item_feature.parquet'), { columns: ['item_id', 'likes_level'] });
  const ids = df.getColumn('item_id').toArray() as number[];
  const lv = df.getColumn('likes_level').toArray() as number[];
  const level = new Int32Array(n).fill(-1);
  ids.forEach((id, r) => (level[id] = Number(lv[r])));
  const m = 11; // 10 level indicators + popularity
  const A = new Matrix(m, m);
  const B = new Matrix(m, 1);
  const row = (i: number) => [...Array.from({ length: 10 }, (_, l) => (level[i] === l ? 1 : 0)), p.truth.popularityStd![i]];
  for (let i = 1; i < n; i++) {
    const x = row(i);
    for (let a = 0; a < m; a++) {
      B.set(a, 0, B.get(a, 0) + x[a] * p.truth.bias![i]);
      for (let c = 0; c < m; c++) A.set(a, c, A.get(a, c) + x[a] * x[c]);
    }
  }
  for (let a = 0; a < m; a++) A.set(a, a, A.get(a, a) + 1e-9);
  const w = solve(A, B);
  const mean = new Float64Array(n);
  let rss = 0;
  for (let i = 1; i < n; i++) {
    const x = row(i);
    mean[i] = x.reduce((s, v, a) => s + v * w.get(a, 0), 0);
    rss += (p.truth.bias![i] - mean[i]) ** 2;
  }
  return { mean, variance: rss / (n - 1) };
}

/** Pearson correlation of a[1..n) and b[1..n) (row 0 is padding). */
function correlation(a: Float64Array, b: Float64Array, n: number): number {
  let ma = 0;
  let mb = 0;
  for (let i = 1; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n - 1;
  mb /= n - 1;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 1; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/**
 * Unit latents read out of item vectors [N × w] (row i − 1 = item i) by ridge regression on the true latents
 * (src/data/synth/diagnostics.ts ridgeMap). `folds` = 1 fits over all items (in-sample, as the generator's
 * latentFromItemEmb diagnostic); `folds` > 1 reads each item through a map fit on the other folds (items dealt
 * round-robin), so no item's own latent enters its read-out. R² over the read-outs.
 */
export function ridgeLatents(root: string, vectors: Float32Array, w: number, folds = 1): { latentUnit: Float64Array; r2: number } {
  const p = planted(root);
  const N = p.truth.numItems;
  const D = p.D;
  const z = p.truth.latent!;
  const out = new Float64Array((N + 1) * D);
  const v = new Float64Array(D);
  let ss = 0;
  let st = 0;
  for (let f = 0; f < Math.max(1, folds); f++) {
    const held = (i: number) => folds <= 1 || i % folds === f;
    const fit = Array.from({ length: N }, (_, i) => i).filter((i) => folds <= 1 || !held(i));
    // The fit rows gathered first (ridgeMap fits over a prefix); the latents aligned to them (row r ↔ z row r + 1).
    const x = new Float32Array(fit.length * w);
    const zz = new Float64Array((fit.length + 1) * D);
    fit.forEach((i, r) => {
      x.set(vectors.subarray(i * w, (i + 1) * w), r * w);
      zz.set(z.subarray((i + 1) * D, (i + 2) * D), (r + 1) * D);
    });
    const W = ridgeMap(x, fit.length, w, zz, D);
    for (let i = 0; i < N; i++) {
      if (!held(i)) continue;
      applyRidgeMap(W, vectors, i, w, D, v);
      let nrm = 0;
      for (let d = 0; d < D; d++) {
        nrm += v[d] * v[d];
        ss += (v[d] - z[(i + 1) * D + d]) ** 2;
        st += z[(i + 1) * D + d] ** 2;
      }
      nrm = Math.sqrt(nrm) || 1;
      for (let d = 0; d < D; d++) out[(i + 1) * D + d] = v[d] / nrm;
    }
  }
  return { latentUnit: out, r2: 1 - ss / st };
}

/** Each item's k-means cluster from the one-hot block (the last k columns) of a fused-clusters table; −1 for none. */
export function clustersOfTable(vectors: Float32Array, rows: number, cols: number, k: number): Int32Array {
  if (vectors.length !== rows * cols) throw new Error(`clustersOfTable: ${vectors.length} values are not ${rows} rows of ${cols}`);
  const out = clustersFromBlock(vectors, cols, cols - k, k);
  // Distinct negative labels for items without a cluster: they match nobody.
  for (let r = 0; r < rows; r++) if (out[r] < 0) out[r] = -1 - r;
  return out;
}
