/**
 * What `02_item_embeddings.ipynb` needs beyond src/features, kept here so its cells stay short: the synthetic item
 * ground truth (topic and community of every item), the retrieval queries the benchmarks use (bench/embed.ts,
 * bench/embedAblation.ts), one retrieval row per strategy, the points of the 2-D map, an item table built from a
 * strategy's vectors (the ablation's DIN trains on it), the committed ablation results, and the clusters of a
 * table's one-hot block with their purity against the planted communities.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MmctrError } from '../errors';
import { MICROLENS_DIMS } from '../data/schema';
import { hasItemTruth, readItemTruth as readItemTruthFile } from '../data/synth/itemTruthFile';
import type { EmbedInputs } from '../features/embed';
import { chanceLabelPrecision, labelPrecision, topNeighbours } from '../features/retrieval';

export { clustersFromBlock } from '../features/fuse';
export { clusterPurity } from '../features/retrieval';
import { createModel } from '../models/registry';
import type { ItemTable } from '../models/types';
import type { TrainConfig } from '../train/config';
import type { TrainingData } from '../train/data';
import { train } from '../train/trainer';
import { project2d } from '../plots/curves';
import type { LabelledPoint } from '../plots/figures';
import { rng } from '../util/rng';

/** Topic and community per item id (−1 for id 0 and ids the file does not list). */
export interface ItemTruth {
  topic: Int32Array;
  community: Int32Array;
}

/** `<root>/oracle/item_truth.parquet` read into arrays of `numItems + 1`; null when the root has no oracle (real data). */
export function readItemTruth(root: string, numItems: number): ItemTruth | null {
  if (!hasItemTruth(root)) return null;
  const { topic, community } = readItemTruthFile(root, { numItems });
  return { topic, community };
}

/** The retrieval check's items and its chance levels. */
export interface RetrievalSetup {
  /** Query item ids, increasing. */
  queries: Int32Array;
  /** Every item id 1..numItems. */
  candidates: Int32Array;
  /** Precision@k of random neighbours for the topic and the community labels. */
  chanceTopic: number;
  chanceCommunity: number;
}

export interface RetrievalSetupOptions {
  /** Queries at most. Default 1,000 (as the benchmarks). */
  maxQueries?: number;
  /** Least occurrences in item_seq for an item to be a query (it then has a Word2Vec vector worth asking). Default 5. */
  minCount?: number;
  /** Seed of the query sample. Default 'bench-embed/queries' (the benchmarks' queries). */
  seed?: string | number;
}

/** Queries: up to `maxQueries` items seen ≥ `minCount` times in item_seq, a seeded sample; candidates: all items. */
export function retrievalSetup(inputs: EmbedInputs, truth: ItemTruth, opts: RetrievalSetupOptions = {}): RetrievalSetup {
  if (!inputs.sequences) throw new MmctrError('retrievalSetup: item_seq.parquet was not loaded (loadEmbedInputs with sequences: true)');
  const minCount = opts.minCount ?? 5;
  const counts = new Int32Array(inputs.numItems + 1);
  for (const v of inputs.sequences.values) counts[v]++;
  const eligible: number[] = [];
  for (let i = 1; i <= inputs.numItems; i++) if (counts[i] >= minCount) eligible.push(i);
  const k = Math.min(opts.maxQueries ?? 1000, eligible.length);
  const queries = Int32Array.from(rng(opts.seed ?? 'bench-embed/queries').sampleSorted(eligible.length, k), (j) => eligible[j]);
  const candidates = Int32Array.from({ length: inputs.numItems }, (_, i) => i + 1);
  return {
    queries,
    candidates,
    chanceTopic: chanceLabelPrecision(queries, truth.topic, candidates),
    chanceCommunity: chanceLabelPrecision(queries, truth.community, candidates),
  };
}

/** Precision@k of same-topic and same-community items among each query's cosine top-k neighbours. */
export function retrievalPrecision(vectors: Float32Array, setup: RetrievalSetup, truth: ItemTruth, k = 10): { topic: number; community: number } {
  const nb = topNeighbours(vectors, MICROLENS_DIMS.itemEmbDim, setup.queries, { k, candidates: setup.candidates });
  return { topic: labelPrecision(nb, setup.queries, k, truth.topic), community: labelPrecision(nb, setup.queries, k, truth.community) };
}

/**
 * The items with a topic and a non-zero vector, projected onto the first two principal axes of their vectors and
 * labelled `topic <t>`; at most `maxItems` of them (a seeded sample) so the figure stays small.
 */
export function topicMapPoints(vectors: Float32Array, truth: ItemTruth, maxItems = 2000, seed: string | number = 'nb02/map'): { points: LabelledPoint[]; explained: [number, number] } {
  const dim = MICROLENS_DIMS.itemEmbDim;
  const ids: number[] = [];
  for (let id = 1; id < truth.topic.length && (id + 1) * dim <= vectors.length; id++) {
    if (truth.topic[id] < 0) continue;
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[id * dim + j] ** 2;
    if (s > 0) ids.push(id);
  }
  const chosen = ids.length > maxItems ? Array.from(rng(seed).sampleSorted(ids.length, maxItems), (j) => ids[j]) : ids;
  const sub = new Float32Array(chosen.length * dim);
  chosen.forEach((id, r) => sub.set(vectors.subarray(id * dim, (id + 1) * dim), r * dim));
  const p = project2d(sub, dim);
  return { points: chosen.map((id, r) => ({ x: p.x[r], y: p.y[r], label: `topic ${truth.topic[id]}` })), explained: p.explained };
}

/** An item table with the given item_emb_d128 (rows = item ids) and everything else from `base`. */
export function withItemVectors(base: ItemTable, vectors: Float32Array): ItemTable {
  const cols = MICROLENS_DIMS.itemEmbDim;
  if (vectors.length !== base.emb.rows * cols) {
    throw new MmctrError(`withItemVectors: ${vectors.length / cols} rows of vectors for an item table of ${base.emb.rows} rows`);
  }
  return { ...base, emb: { data: vectors, rows: base.emb.rows, cols } };
}

/** One row of bench/results/embedAblation.json. */
export interface AblationResult {
  strategy: string;
  validAuc: number;
  topicP10: number | null;
  communityP10: number | null;
  epochs: number;
}

export interface AblationResults {
  /** The command that produced them. */
  command: string;
  /** ISO date of the measurement. */
  date: string;
  rows: AblationResult[];
  notes: string[];
}

/** The committed ablation (`npm run bench:embed-ablation` writes it); null when the file is absent. */
export function readAblationResults(file = path.join('bench', 'results', 'embedAblation.json')): AblationResults | null {
  if (!existsSync(file)) return null;
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { command: string; machine: { date: string }; rows: Record<string, unknown>[]; notes?: string[] };
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    command: raw.command,
    date: raw.machine.date,
    rows: raw.rows.map((r, i) => {
      const auc = num(r['valid AUC']);
      if (typeof r.strategy !== 'string' || auc === null) throw new MmctrError(`${file}: row ${i} has no strategy or valid AUC`);
      return { strategy: r.strategy, validAuc: auc, topicP10: num(r['topic p@10']), communityP10: num(r['community p@10']), epochs: num(r.epochs) ?? 0 };
    }),
    notes: raw.notes ?? [],
  };
}

/** A strategy of the live ablation: its item vectors, or null for the control (item_emb_d128 = 0). */
export interface AblationInput {
  strategy: string;
  vectors: Float32Array | null;
}

export interface QuickAblationOptions {
  /** Training settings (the notebook's `ctx.training` and seed). */
  config: Partial<TrainConfig>;
  /** Seed of the DIN's initialisation. */
  modelSeed: number;
}

/**
 * The ablation of bench/embedAblation.ts in small: one DIN (`dinSmall`) per strategy, everything but
 * item_emb_d128 fixed (data, model seed, shuffle seed, schedule); the best valid AUC of each. No run folders.
 */
export async function quickAblation(data: TrainingData, inputs: AblationInput[], opts: QuickAblationOptions): Promise<AblationResult[]> {
  const rows: AblationResult[] = [];
  for (const s of inputs) {
    const vectors = s.vectors ?? new Float32Array(data.itemTable.emb.rows * MICROLENS_DIMS.itemEmbDim);
    const table = withItemVectors(data.itemTable, vectors);
    const model = createModel('din', 'dinSmall', table, { seed: opts.modelSeed });
    try {
      const result = await train(model, { train: data.train, valid: data.valid, itemTable: table }, opts.config, { progress: false });
      rows.push({ strategy: s.strategy, validAuc: result.best?.valid.auc ?? Number.NaN, topicP10: null, communityP10: null, epochs: result.epochs });
    } finally {
      model.dispose();
    }
  }
  return rows;
}
