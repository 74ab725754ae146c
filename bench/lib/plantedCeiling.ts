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

export interface PlantedOptions {
  /** Community per item id (index = id); default the true communities. Ids with different values never match. */
  community?: Int32Array;
  /** Keep the per-item bias term. Default true. */
  bias?: boolean;
}

interface ClickParams {
  wContent: number;
  wCommunity: number;
  temperature: number;
  betaHistory: number;
  betaPopularity: number;
}

/** Valid AUC of the planted click function with the given replacements. */
export function plantedAuc(root: string, opts: PlantedOptions = {}): number {
  const gt = JSON.parse(readFileSync(path.join(root, 'oracle', 'ground_truth.json'), 'utf8')) as { config: { clicks: ClickParams } };
  const c = gt.config.clicks;
  const t = readItemTruth(root, { numbers: true, latent: true });
  const D = t.latentDim!;
  const n = t.numItems + 1;
  const zu = new Float64Array(n * D);
  for (let i = 1; i < n; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += t.latent![i * D + d] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < D; d++) zu[i * D + d] = t.latent![i * D + d] * inv;
  }
  const community = opts.community ?? t.community;
  const bias = opts.bias ?? true;
  const valid = pl.readParquet(path.join(root, 'MicroLens_1M_x1', 'valid.parquet'), { columns: ['item_seq', 'item_id', 'label'] });
  const hist = valid.getColumn('item_seq').toArray() as unknown as ArrayLike<number>[];
  const target = valid.getColumn('item_id').toArray() as number[];
  const labels = Uint8Array.from(valid.getColumn('label').toArray() as number[]);
  const scores = new Float64Array(target.length);
  const sims: number[] = [];
  for (let r = 0; r < target.length; r++) {
    const x = target[r];
    sims.length = 0;
    for (const h of Array.from(hist[r])) {
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
    scores[r] = c.betaHistory * lme + c.betaPopularity * t.popularityStd![x] + (bias ? t.bias![x] : 0);
  }
  return exactAuc(labels, scores);
}

/** Each item's k-means cluster from the one-hot block (the last k columns) of a fused-clusters table; −1 for none. */
export function clustersOfTable(vectors: Float32Array, rows: number, cols: number, k: number): Int32Array {
  if (vectors.length !== rows * cols) throw new Error(`clustersOfTable: ${vectors.length} values are not ${rows} rows of ${cols}`);
  const out = clustersFromBlock(vectors, cols, cols - k, k);
  // Distinct negative labels for items without a cluster: they match nobody.
  for (let r = 0; r < rows; r++) if (out[r] < 0) out[r] = -1 - r;
  return out;
}
