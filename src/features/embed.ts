/**
 * `embed`: Task 1 of the challenge, item_feature.parquet (+ item_seq.parquet) → an item_info.parquet whose
 * `item_emb_d128` any Task 2 model trains on unchanged (row index = item_id, zero padding row 0, tags left-padded
 * to 5).
 *
 * ```
 * item_feature ─► content table [text ‖ image (‖ title)] ─► Σ ─► content strategy (concat-pca | per-modality-pca,
 *                                                                 whitening before/after) ─► content vectors ─┐
 * item_seq ─► distinct histories ─► Word2Vec (SGNS) ─► collaborative vectors ───────────────────────────────► fuse
 * ```
 * Written under `outDir`: `MicroLens_1M_x1/item_info.parquet` and `embed.json` (the spec, explained variances,
 * timings); the data root's other tables (and `oracle/`) are linked beside them (src/data/linkRoot.ts), so `outDir`
 * is a data root any model trains on (`mmctr train --data <outDir>`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadItemFeatures, loadItemSequences } from '../data/load';
import { MICROLENS_DIMS, type ItemFeatures, type ItemSequences } from '../data/schema';
import { linkDataRoot } from '../data/linkRoot';
import { writeTable } from '../data/write';
import { peakRssMiB, releaseMemory } from '../util/memory';
import { progress } from '../util/progress';
import {
  DEFAULT_CONTENT_OPTIONS,
  MODALITY_NAMES,
  fitContentModel,
  type ContentModel,
  type ContentOptions,
  type ModalityBlock,
  type ModalityName,
} from './content';
import { coWatchCommunities, DEFAULT_COMMUNITY_OPTIONS, userHistories, type Communities } from './communities';
import { AUTO_TOPIC_KS, CLUSTER_SEED, COLLABORATIVE_SOURCES, DEFAULT_CLUSTER_WEIGHT, DEFAULT_FUSE_OPTIONS, fuseVectors, validateClusterOptions, type FuseOptions, type FusedClusters } from './fuse';
import { chooseK, sphericalKMeans } from './kmeans';
import {
  FeatureError,
  covariance,
  projectRows,
  resolveProductBackend,
  type CovarianceStats,
  type ExplainedVariance,
  type ProductBackend,
  type ProductBackendChoice,
} from './pca';
import { HashedTfidfEncoder, type HashedTfidfOptions } from './titleEncoder';
import { DEFAULT_WORD2VEC_OPTIONS, trainWord2Vec, type Word2VecOptions, type Word2VecResult } from './word2vec';

/** What `item_emb_d128` is made of. */
export type EmbedStrategy = 'concat-pca' | 'per-modality-pca' | 'word2vec' | 'fuse';

export const EMBED_STRATEGIES: readonly EmbedStrategy[] = ['concat-pca', 'per-modality-pca', 'word2vec', 'fuse'];

export interface EmbedSpec {
  /** Default 'fuse'. */
  strategy: EmbedStrategy;
  /** Modalities of the content vector, in this column order. Default ['text', 'image']. */
  modalities: ModalityName[];
  /**
   * The content vector. For the strategies `concat-pca` / `per-modality-pca` the strategy sets `reduction`; for
   * `fuse` it is `content.reduction` (default concat-pca). See ContentOptions for the defaults of the rest.
   */
  content: Partial<ContentOptions>;
  /** The collaborative vector (word2vec, fuse). See Word2VecOptions for the defaults. */
  word2vec: Partial<Word2VecOptions>;
  /** How content and collaborative vectors combine (fuse). See FuseOptions for the defaults. */
  fusion: Partial<FuseOptions>;
  /** The title encoder, when 'title' is a modality. See HashedTfidfOptions for the defaults. */
  title: Partial<HashedTfidfOptions>;
  /**
   * A last global rescaling of the table: `unit-rms` multiplies every vector by one factor so that the mean squared
   * coordinate over the items with a vector is 1 (directions and relative norms unchanged); `as-is` keeps the
   * strategy's own scale (raw PCA projections, unit rows after weighted fusion, Word2Vec's scale). Default
   * 'unit-rms': in the DIN ablation (bench/results/embedAblation.md) Word2Vec and fused tables gained valid AUC from
   * it (their own scales are far smaller than PCA's, and the model's linear projection of item_emb starts from
   * Xavier weights, so a small input scale is a slow start).
   */
  outputScale: OutputScale;
}

export type OutputScale = 'as-is' | 'unit-rms';

export const OUTPUT_SCALES: readonly OutputScale[] = ['as-is', 'unit-rms'];

/** Multiplies the rows in place so that the mean squared coordinate over non-zero rows is 1; returns the factor. */
export function rescaleToUnitRms(vectors: Float32Array, dim: number): number {
  let sum = 0;
  let rows = 0;
  for (let r = 0; r < vectors.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[r * dim + j] ** 2;
    if (s > 0) {
      sum += s;
      rows++;
    }
  }
  if (rows === 0) return 1;
  const f = 1 / Math.sqrt(sum / (rows * dim));
  for (let i = 0; i < vectors.length; i++) vectors[i] *= f;
  return f;
}

export const DEFAULT_EMBED_SPEC: Readonly<EmbedSpec> = Object.freeze({
  strategy: 'fuse' as EmbedStrategy,
  modalities: ['text', 'image'] as ModalityName[],
  content: {},
  word2vec: {},
  fusion: {},
  title: {},
  outputScale: 'unit-rms' as OutputScale,
});

/**
 * The `communities` recipe (`mmctr embed --recipe communities`) as a spec: modality-balanced content whitened up to
 * its eigengap ‖ Word2Vec's (window 20) least-squares residual on it ‖ a one-hot of the co-watching communities, at
 * the strategy's own scale. The best table measured on data/small (bench/results/oracleGap.md, fused-cowatch-signal).
 */
export const COMMUNITIES_RECIPE: Readonly<Partial<EmbedSpec>> = Object.freeze({
  strategy: 'fuse' as EmbedStrategy,
  content: { balance: true, whiten: 'signal' as const },
  word2vec: { window: 20 },
  fusion: { mode: 'concat' as const, collaborative: 'residual' as const, clusters: { k: 'auto' as const, weight: DEFAULT_CLUSTER_WEIGHT, method: 'cowatch' as const } },
  outputScale: 'as-is' as OutputScale,
});

/** The items of a data root, as the strategies need them. */
export interface EmbedInputs {
  /** Largest item id N: output rows are 0..N. */
  numItems: number;
  features: ItemFeatures;
  /** Loaded when a strategy needs them. */
  sequences: ItemSequences | null;
}

export interface LoadEmbedInputsOptions {
  /** Run the loaders' value checks. Default true. */
  validate?: boolean;
  /** Load item_seq.parquet too. Default true. */
  sequences?: boolean;
}

export async function loadEmbedInputs(root: string, opts: LoadEmbedInputsOptions = {}): Promise<EmbedInputs> {
  const validate = opts.validate ?? true;
  const features = await loadItemFeatures(root, { validate });
  let numItems = 0;
  for (let i = 0; i < features.rows; i++) numItems = Math.max(numItems, features.itemId[i]);
  const sequences = (opts.sequences ?? true) ? await loadItemSequences(root, { validate }) : null;
  if (sequences) for (let i = 0; i < sequences.values.length; i++) numItems = Math.max(numItems, sequences.values[i]);
  return { numItems, features, sequences };
}

/** The [rows × width] float32 table of the chosen modalities, in item_feature row order. */
export interface ContentTable {
  rows: number;
  width: number;
  data: Float32Array;
  blocks: ModalityBlock[];
}

export interface ContentTableResult {
  table: ContentTable;
  /** The fitted title encoder, when 'title' is a modality. */
  titleEncoder: HashedTfidfEncoder | null;
}

/** Copies the modalities side by side (encoding titles when asked). */
export function buildContentTable(features: ItemFeatures, modalities: readonly ModalityName[], title: Partial<HashedTfidfOptions> = {}): ContentTableResult {
  if (modalities.length === 0) throw new FeatureError('content: no modality selected');
  const seen = new Set<ModalityName>();
  for (const m of modalities) {
    if (!MODALITY_NAMES.includes(m)) throw new FeatureError(`unknown modality '${String(m)}' (expected ${MODALITY_NAMES.join(', ')})`);
    if (seen.has(m)) throw new FeatureError(`modality '${m}' given twice`);
    seen.add(m);
  }
  const n = features.rows;
  let encoder: HashedTfidfEncoder | null = null;
  const sources = modalities.map((m): { name: ModalityName; data: Float32Array; dim: number } => {
    switch (m) {
      case 'text':
        return { name: m, data: features.text.data, dim: features.text.cols };
      case 'image':
        return { name: m, data: features.image.data, dim: features.image.cols };
      case 'title': {
        const fitted = HashedTfidfEncoder.fitTransform(features.title, title);
        encoder = fitted.encoder;
        return { name: m, data: fitted.vectors, dim: fitted.encoder.dim };
      }
      default: {
        const never: never = m;
        throw new FeatureError(`unknown modality '${String(never)}'`);
      }
    }
  });
  const width = sources.reduce((s, x) => s + x.dim, 0);
  const data = new Float32Array(n * width);
  const blocks: ModalityBlock[] = [];
  let col0 = 0;
  for (const s of sources) {
    for (let r = 0; r < n; r++) data.set(s.data.subarray(r * s.dim, (r + 1) * s.dim), r * width + col0);
    blocks.push({ name: s.name, col0, dim: s.dim });
    col0 += s.dim;
  }
  return { table: { rows: n, width, data, blocks }, titleEncoder: encoder };
}

/** File-order rows → an item table [(numItems + 1) × k] with row = item id (row 0 and absent ids zero). */
export function toItemRows(values: Float32Array, k: number, itemId: Int32Array, numItems: number): Float32Array {
  const out = new Float32Array((numItems + 1) * k);
  for (let r = 0; r < itemId.length; r++) out.set(values.subarray(r * k, (r + 1) * k), itemId[r] * k);
  return out;
}

/** item_feature tags → item_info's [(numItems + 1) × 5]: the first 5 non-zero tags, left-padded with 0. */
export function itemInfoTags(features: ItemFeatures, numItems: number): Int32Array {
  const w = MICROLENS_DIMS.itemInfoTags;
  const out = new Int32Array((numItems + 1) * w);
  const { offsets, values } = features.tags;
  const buf: number[] = [];
  for (let r = 0; r < features.rows; r++) {
    buf.length = 0;
    for (let p = offsets[r]; p < offsets[r + 1] && buf.length < w; p++) if (values[p] > 0) buf.push(values[p]);
    const base = features.itemId[r] * w + (w - buf.length);
    for (let j = 0; j < buf.length; j++) out[base + j] = buf[j];
  }
  return out;
}

/** Resolved spec: every default applied (what embed.json records). */
export interface ResolvedEmbedSpec {
  strategy: EmbedStrategy;
  modalities: ModalityName[];
  content: ContentOptions;
  word2vec: Word2VecOptions;
  fusion: FuseOptions;
  title: Partial<HashedTfidfOptions>;
  outputScale: OutputScale;
}

function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function resolveEmbedSpec(spec: Partial<EmbedSpec> = {}): ResolvedEmbedSpec {
  const strategy = spec.strategy ?? DEFAULT_EMBED_SPEC.strategy;
  if (!EMBED_STRATEGIES.includes(strategy)) throw new FeatureError(`unknown strategy '${String(strategy)}' (expected ${EMBED_STRATEGIES.join(', ')})`);
  const content: ContentOptions = { ...DEFAULT_CONTENT_OPTIONS, ...defined(spec.content) };
  if (strategy === 'concat-pca' || strategy === 'per-modality-pca') content.reduction = strategy;
  const dim = MICROLENS_DIMS.itemEmbDim;
  if (content.dim !== dim) throw new FeatureError(`content dim must be ${dim} (item_emb_d128), got ${content.dim}`);
  const word2vec: Word2VecOptions = { ...DEFAULT_WORD2VEC_OPTIONS, ...defined(spec.word2vec) };
  if (word2vec.dim !== dim) throw new FeatureError(`word2vec dim must be ${dim} (item_emb_d128), got ${word2vec.dim}`);
  const fusion: FuseOptions = { ...DEFAULT_FUSE_OPTIONS, ...defined(spec.fusion) };
  if (fusion.dim !== dim) throw new FeatureError(`fusion dim must be ${dim} (item_emb_d128), got ${fusion.dim}`);
  if (!COLLABORATIVE_SOURCES.includes(fusion.collaborative)) {
    throw new FeatureError(`unknown fusion collaborative source '${String(fusion.collaborative)}' (expected ${COLLABORATIVE_SOURCES.join(', ')})`);
  }
  if (strategy !== 'fuse' && (fusion.collaborative !== 'raw' || fusion.clusters)) {
    throw new FeatureError(`fusion collaborative '${fusion.collaborative}' and clusters apply to the strategy fuse only, not ${strategy}`);
  }
  if (fusion.clusters) {
    fusion.clusters = { ...fusion.clusters };
    if (fusion.mode !== 'concat') throw new FeatureError(`fusion clusters need fusion mode 'concat' (the block is appended after it), got '${fusion.mode}'`);
    validateClusterOptions(fusion.clusters, fusion.dim, fusion.contentDim);
  }
  const outputScale = spec.outputScale ?? DEFAULT_EMBED_SPEC.outputScale;
  if (!OUTPUT_SCALES.includes(outputScale)) throw new FeatureError(`unknown output scale '${String(outputScale)}' (expected ${OUTPUT_SCALES.join(', ')})`);
  return {
    strategy,
    outputScale,
    modalities: [...(spec.modalities ?? DEFAULT_EMBED_SPEC.modalities)],
    content,
    word2vec,
    fusion,
    title: { ...defined(spec.title) },
  };
}

/** What a strategy needs. */
export function strategyNeeds(strategy: EmbedStrategy): { content: boolean; collaborative: boolean } {
  switch (strategy) {
    case 'concat-pca':
    case 'per-modality-pca':
      return { content: true, collaborative: false };
    case 'word2vec':
      return { content: false, collaborative: true };
    case 'fuse':
      return { content: true, collaborative: true };
    default: {
      const never: never = strategy;
      throw new FeatureError(`unknown strategy '${String(never)}'`);
    }
  }
}

export interface ContentVectors {
  /** [(numItems + 1) × 128], row = item id. */
  vectors: Float32Array;
  model: ContentModel;
}

/** The content vectors of a strategy from the table and its statistics. */
export function contentVectors(inputs: EmbedInputs, table: ContentTable, stats: CovarianceStats, options: Partial<ContentOptions>, backend: ProductBackendChoice = 'auto'): ContentVectors {
  const model = fitContentModel(stats, table.blocks, options);
  const [y] = projectRows({ data: table.data, rows: table.rows, cols: table.width }, stats.mean, [model.map], { backend });
  return { vectors: toItemRows(y, model.map.k, inputs.features.itemId, inputs.numItems), model };
}

export interface EmbedResult {
  /** [(numItems + 1) × 128], row = item id, row 0 zeros. */
  vectors: Float32Array;
  spec: ResolvedEmbedSpec;
  /** One line saying what was built. */
  description: string;
  explained: ExplainedVariance[];
  whitenings: ContentModel['whitenings'];
  word2vec: Omit<Word2VecResult, 'vectors' | 'counts' | 'options'> | null;
  /** The co-watching communities behind the cluster block (method 'cowatch'), else null. */
  communities: (Omit<Communities, 'labels' | 'sizes' | 'chosenBy' | 'seconds'> & { topics: string }) | null;
  /** The one-hot cluster block of fusion.clusters (chosen k, silhouettes, sizes), else null. */
  clusters: Omit<FusedClusters, 'labels'> | null;
  titleEncoder: { features: number; dim: number } | null;
  backend: ProductBackend | null;
  /** Seconds per step. */
  seconds: Record<string, number>;
}

export interface ComputeEmbeddingOptions {
  /** Engine of the large products. Default 'auto'. */
  backend?: ProductBackendChoice;
  /** Progress lines on stderr. Default true. */
  progress?: boolean;
  /**
   * Reuse content tables, their covariance and Word2Vec runs across calls on the same inputs (comparisons of many
   * strategies). Default none.
   */
  cache?: EmbedCache;
}

/** What several strategies on the same inputs can share. */
export interface EmbedCache {
  /** By modalities + title options: the content table, its statistics and the title encoder's size. */
  content: Map<string, { table: ContentTable; stats: CovarianceStats; titleEncoder: EmbedResult['titleEncoder'] }>;
  /** By Word2Vec options (progress excluded). */
  word2vec: Map<string, Word2VecResult>;
}

export function createEmbedCache(): EmbedCache {
  return { content: new Map(), word2vec: new Map() };
}

/**
 * Content topics for the co-watching communities (communities.ts): spherical k-means of the content vectors, k
 * given or the best silhouette among AUTO_TOPIC_KS (those below the number of items).
 */
export function contentTopics(vectors: Float32Array, dim: number, k: number | 'auto'): { labels: Int32Array; k: number; note: string } {
  const rows = vectors.length / dim;
  if (k !== 'auto') {
    const km = sphericalKMeans(vectors, dim, k, { seed: CLUSTER_SEED });
    return { labels: km.labels, k, note: `same-topic pairs masked, ${k} content topics (spherical k-means)` };
  }
  const candidates = AUTO_TOPIC_KS.filter((c) => c < rows - 1);
  if (candidates.length === 0) throw new FeatureError(`communities: ${rows - 1} items are too few for content topics (${AUTO_TOPIC_KS.join(', ')})`);
  const chosen = chooseK(vectors, dim, candidates, { kmeans: { seed: CLUSTER_SEED }, silhouette: { seed: CLUSTER_SEED } });
  return {
    labels: chosen.best.labels,
    k: chosen.best.k,
    note: `same-topic pairs masked, ${chosen.best.k} content topics (spherical k-means, silhouette among ${chosen.scores.map((x) => `${x.k}: ${x.silhouette.toFixed(3)}`).join(', ')})`,
  };
}

/** The item vectors of one spec (no files written). */
export async function computeEmbedding(inputs: EmbedInputs, spec: Partial<EmbedSpec> = {}, opts: ComputeEmbeddingOptions = {}): Promise<EmbedResult> {
  const s = resolveEmbedSpec(spec);
  const need = strategyNeeds(s.strategy);
  const seconds: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    seconds[name] = Math.round(now - t) / 1000;
    t = now;
  };
  const showProgress = opts.progress ?? true;
  let content: ContentVectors | null = null;
  let backend: ProductBackend | null = null;
  let titleInfo: EmbedResult['titleEncoder'] = null;
  if (need.content) {
    backend = resolveProductBackend(opts.backend);
    const key = JSON.stringify([s.modalities, s.title, backend]);
    let shared = opts.cache?.content.get(key);
    if (!shared) {
      const { table, titleEncoder } = buildContentTable(inputs.features, s.modalities, s.title);
      lap('contentTable');
      const bar = progress({ label: `covariance (${backend})`, total: table.rows, unit: 'items', silent: !showProgress || undefined });
      const stats = covariance({ data: table.data, rows: table.rows, cols: table.width }, { backend, onRows: (r) => bar.update(r) });
      bar.done();
      lap('covariance');
      shared = { table, stats, titleEncoder: titleEncoder && { features: titleEncoder.features, dim: titleEncoder.dim } };
      opts.cache?.content.set(key, shared);
    }
    titleInfo = shared.titleEncoder;
    content = contentVectors(inputs, shared.table, shared.stats, s.content, backend);
    lap('content');
  }
  let w2v: Word2VecResult | null = null;
  if (need.collaborative) {
    if (!inputs.sequences) throw new FeatureError(`strategy ${s.strategy} needs item_seq.parquet, which was not loaded`);
    const key = JSON.stringify({ ...s.word2vec, progress: undefined });
    w2v = opts.cache?.word2vec.get(key) ?? null;
    if (!w2v) {
      w2v = await trainWord2Vec(inputs.sequences, inputs.numItems, { ...s.word2vec, progress: s.word2vec.progress && showProgress });
      opts.cache?.word2vec.set(key, w2v);
    }
    lap('word2vec');
  }
  const explained = content ? [...content.model.explained] : [];
  let vectors: Float32Array;
  let description: string;
  let clusters: EmbedResult['clusters'] = null;
  let communities: EmbedResult['communities'] = null;
  switch (s.strategy) {
    case 'concat-pca':
    case 'per-modality-pca':
      vectors = content!.vectors;
      description = content!.model.description;
      break;
    case 'word2vec':
      vectors = w2v!.vectors.slice();
      description = describeWord2Vec(w2v!);
      break;
    case 'fuse': {
      let cowatch: Communities | null = null;
      let topicNote = '';
      if (s.fusion.clusters?.method === 'cowatch') {
        const c = s.fusion.clusters;
        const topics = contentTopics(content!.vectors, MICROLENS_DIMS.itemEmbDim, c.topics ?? 'auto');
        topicNote = topics.note;
        const say = showProgress ? (line: string) => process.stderr.write(`${line}\n`) : null;
        const live = content!.vectors.length / MICROLENS_DIMS.itemEmbDim - 1;
        // The block takes k columns of dim: keep at least 16 for the fused content and collaborative parts.
        const kMax = Math.min(DEFAULT_COMMUNITY_OPTIONS.kMax, s.fusion.dim - 16, live - 2);
        cowatch = coWatchCommunities(userHistories(inputs.sequences!), inputs.numItems, topics.labels, { k: c.k, kMax, seed: CLUSTER_SEED, onProgress: say });
        lap('communities');
      }
      const fused = fuseVectors(
        content!.vectors,
        MICROLENS_DIMS.itemEmbDim,
        w2v!.vectors,
        w2v!.dim,
        { ...s.fusion, backend: opts.backend ?? s.fusion.backend },
        cowatch && { labels: cowatch.labels, k: cowatch.k },
      );
      if (fused.explained) explained.push(fused.explained);
      vectors = fused.vectors;
      const fc = fused.clusters;
      const split =
        s.fusion.mode !== 'concat' ? '' : fc ? `, ${fc.contentDim} + ${fc.collaborativeDim} + ${fc.k} dims` : `, ${s.fusion.contentDim} + ${fused.dim - s.fusion.contentDim} dims`;
      const source = s.fusion.collaborative === 'residual' ? `the least-squares residual on the content vectors of ${describeWord2Vec(w2v!)}` : describeWord2Vec(w2v!);
      description = `fuse ${s.fusion.mode} (content ${s.fusion.contentWeight}, collaborative ${s.fusion.collaborativeWeight}${split}) of ${content!.model.description} and ${source}`;
      if (fc) {
        const { labels: _labels, ...rest } = fc;
        void _labels;
        clusters = rest;
        if (cowatch) {
          const how = cowatch.gap
            ? `k by eigengap (λ ratio ${cowatch.gap.ratio.toFixed(3)}${cowatch.gap.weak ? ', WEAK: no clear community structure' : ''}, runner-up k=${cowatch.gap.runnerUpK} ${cowatch.gap.runnerUpRatio?.toFixed(3)})`
            : 'k given';
          description += ` ‖ ${fc.weight.toFixed(3)}·one-hot(co-watching communities k=${fc.k}: spectral clusters of the cross-topic co-occurrence of ${cowatch.histories} user histories, ${topicNote}; ${how}; ${cowatch.linkedItems} items linked)`;
          communities = { k: cowatch.k, gap: cowatch.gap, eigenvalues: cowatch.eigenvalues, linkedItems: cowatch.linkedItems, histories: cowatch.histories, propagation: cowatch.propagation, solver: cowatch.solver, topics: topicNote };
        } else {
          const how =
            s.fusion.clusters?.k === 'auto'
              ? `chosen by silhouette among ${fc.scores.map((x) => `${x.k}: ${x.silhouette.toFixed(3)}`).join(', ')}`
              : `silhouette ${fc.silhouette!.toFixed(3)}`;
          description += ` ‖ ${fc.weight.toFixed(3)}·one-hot(spherical k-means k=${fc.k} of the collaborative source, ${how})`;
        }
      }
      lap('fuse');
      break;
    }
    default: {
      const never: never = s.strategy;
      throw new FeatureError(`unknown strategy '${String(never)}'`);
    }
  }
  vectors.fill(0, 0, MICROLENS_DIMS.itemEmbDim);
  if (s.outputScale === 'unit-rms') {
    const f = rescaleToUnitRms(vectors, MICROLENS_DIMS.itemEmbDim);
    description += ` × ${f.toPrecision(3)} (unit RMS)`;
  }
  let w2vSummary: EmbedResult['word2vec'] = null;
  if (w2v) {
    const { vectors: _v, counts: _c, options: _o, ...rest } = w2v;
    void _v;
    void _c;
    void _o;
    w2vSummary = rest;
  }
  return {
    vectors,
    spec: s,
    description,
    explained,
    whitenings: content?.model.whitenings ?? [],
    word2vec: w2vSummary,
    clusters,
    communities,
    titleEncoder: titleInfo,
    backend,
    seconds,
  };
}

function describeWord2Vec(r: Word2VecResult): string {
  const o = r.options;
  return `word2vec(SGNS dim ${r.dim}, window ${o.window}, negative ${o.negative}, epochs ${o.epochs}; ${r.vocabulary} items, ${r.sequences} histories)`;
}

export interface EmbedOptions extends ComputeEmbeddingOptions {
  /** Data root with item_feature.parquet (and item_seq.parquet). */
  dataRoot: string;
  /** Output folder (gets MicroLens_1M_x1/item_info.parquet and embed.json). */
  outDir: string;
  spec?: Partial<EmbedSpec>;
  /** Run the loaders' value checks. Default true. */
  validate?: boolean;
  /** Link the data root's other tables into outDir, making it a data root. Default true. */
  linkData?: boolean;
}

export interface EmbedReport extends Omit<EmbedResult, 'vectors'> {
  dataRoot: string;
  outDir: string;
  /** The item_info file written. */
  file: string;
  /** Tables (and oracle/) of the data root linked into outDir. */
  linked: string[];
  items: number;
  peakRssMiB: number;
  totalSeconds: number;
}

/** Relative path of the item table under an output folder. */
export const ITEM_INFO_PATH = path.join('MicroLens_1M_x1', 'item_info.parquet');

/** Loads, computes and writes item_info.parquet + embed.json. */
export async function embed(opts: EmbedOptions): Promise<EmbedReport> {
  const t0 = performance.now();
  const spec = resolveEmbedSpec(opts.spec);
  const need = strategyNeeds(spec.strategy);
  let t = performance.now();
  const inputs = await loadEmbedInputs(opts.dataRoot, { validate: opts.validate, sequences: need.collaborative });
  const loadSeconds = Math.round(performance.now() - t) / 1000;
  const result = await computeEmbedding(inputs, spec, opts);
  t = performance.now();
  const file = path.join(opts.outDir, ITEM_INFO_PATH);
  const tags = itemInfoTags(inputs.features, inputs.numItems);
  const k = MICROLENS_DIMS.itemEmbDim;
  await writeTable(file, [
    [
      { name: 'item_id', kind: 'int64', values: Int32Array.from({ length: inputs.numItems + 1 }, (_, i) => i) },
      { name: 'item_tags', kind: 'int64List', values: tags, width: MICROLENS_DIMS.itemInfoTags },
      { name: 'item_emb_d128', kind: 'float32List', values: result.vectors, width: k },
    ],
  ]);
  const { vectors: _vectors, ...rest } = result;
  void _vectors;
  const linked = opts.linkData === false ? [] : linkDataRoot(opts.dataRoot, opts.outDir, ['item_info']);
  const report: EmbedReport = {
    ...rest,
    seconds: { load: loadSeconds, ...result.seconds, write: Math.round(performance.now() - t) / 1000 },
    dataRoot: opts.dataRoot,
    outDir: opts.outDir,
    file,
    linked,
    items: inputs.numItems,
    peakRssMiB: Math.round(peakRssMiB()),
    totalSeconds: Math.round(performance.now() - t0) / 1000,
  };
  mkdirSync(opts.outDir, { recursive: true });
  writeFileSync(path.join(opts.outDir, 'embed.json'), JSON.stringify(report, null, 2) + '\n');
  await releaseMemory();
  return report;
}
