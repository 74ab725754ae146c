/**
 * `mmctr embed`: Task 1, multimodal item embeddings. Reads item_feature.parquet (and item_seq.parquet), writes
 * `<out>/MicroLens_1M_x1/item_info.parquet` (row index = item_id, zero padding row, tags left-padded to 5) and
 * `<out>/embed.json`; prints what was built and the explained variance of every PCA.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { selectBackend } from '../engine/backend';
import { loadNative } from '../engine/native';
import { MODALITY_NAMES, REDUCTIONS, WHITEN_MODES, type ModalityName, type Reduction, type WhitenMode } from '../features/content';
import { EMBED_STRATEGIES, ITEM_INFO_PATH, OUTPUT_SCALES, embed, type EmbedReport, type EmbedSpec, type EmbedStrategy, type OutputScale } from '../features/embed';
import { AUTO_CLUSTER_KS, AUTO_TOPIC_KS, CLUSTER_METHODS, COLLABORATIVE_SOURCES, DEFAULT_CLUSTER_WEIGHT, FUSION_MODES, type ClusterMethod, type ClusterOptions, type CollaborativeSource, type FusionMode } from '../features/fuse';
import { PRODUCT_BACKENDS, formatExplainedVariance, type ProductBackendChoice } from '../features/pca';
import { DEFAULT_WORD2VEC_OPTIONS, WORD2VEC_KERNELS, type Word2VecKernel } from '../features/word2vec';
import { DATA_ROOT_HELP, parseDataRoot } from './validate';

/** Raw commander values. */
export interface EmbedCommandOptions {
  data?: string;
  /** A named set of flags (EMBED_RECIPES); flags given explicitly override it. */
  recipe?: string;
  out?: string;
  strategy?: string;
  modalities?: string;
  content?: string;
  perModalityDims?: string;
  whiten?: string;
  balance?: boolean;
  signalDim?: string;
  whitenDim?: string;
  fusion?: string;
  contentWeight?: string;
  /** fuse --fusion concat: coordinates of the content part (default 64). */
  fusionContentDim?: string;
  /** fuse: raw | residual (default raw). */
  collaborative?: string;
  /** fuse --fusion concat: k of the one-hot cluster block, or 'auto' (default none). */
  clusters?: string;
  clusterMethod?: string;
  topics?: string;
  /** Value of the cluster column (default √0.5). */
  clusterWeight?: string;
  w2vEpochs?: string;
  w2vWindow?: string;
  w2vNegative?: string;
  w2vLr?: string;
  w2vSample?: string;
  w2vMinCount?: string;
  w2vThreads?: string;
  w2vKernel?: string;
  w2vDedupe?: boolean;
  outputScale?: string;
  seed?: string;
  backend?: string;
  validate?: boolean;
  progress?: boolean;
  /** Link the data root's other tables into --out (default true; --no-link). */
  link?: boolean;
}

/**
 * Named recipes: flag sets measured together. `communities` is the best Task 1 table measured on data/small
 * (bench/results/oracleGap.md, table fused-cowatch-signal: DIN with diagonal match heads 0.8446 valid AUC against
 * 0.7838 for dinSmall on the default table; oracle 0.8692): balanced, signal-whitened content ‖ the residual of
 * Word2Vec (window 20) on it ‖ a one-hot of the co-watching communities, at the strategy's own scale.
 */
export const EMBED_RECIPES = {
  communities: {
    strategy: 'fuse',
    balance: true,
    whiten: 'signal',
    fusion: 'concat',
    w2vWindow: '20',
    collaborative: 'residual',
    clusters: 'auto',
    clusterMethod: 'cowatch',
    outputScale: 'as-is',
  },
} as const satisfies Record<string, Partial<EmbedCommandOptions>>;
export type EmbedRecipe = keyof typeof EMBED_RECIPES;
export const EMBED_RECIPE_NAMES = Object.keys(EMBED_RECIPES) as EmbedRecipe[];

/** The recipe's flags under the explicit ones (an explicit flag wins). */
function withRecipe(raw: EmbedCommandOptions): EmbedCommandOptions {
  if (raw.recipe === undefined) return raw;
  const recipe = oneOf<EmbedRecipe>('--recipe', raw.recipe, EMBED_RECIPE_NAMES)!;
  const explicit = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  return { ...EMBED_RECIPES[recipe], ...explicit };
}

/** Validated options, as `embed` takes them. */
export interface EmbedCliOptions {
  dataRoot: string;
  outDir: string;
  spec: Partial<EmbedSpec>;
  backend: ProductBackendChoice;
  validate: boolean;
  progress: boolean;
  linkData: boolean;
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new MmctrError(`${flag} ${value}: expected one of ${allowed.join(', ')}`);
  return value as T;
}

function num(flag: string, value: string | undefined, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const bad =
    value.trim() === '' ||
    !Number.isFinite(n) ||
    (opts.integer && !Number.isInteger(n)) ||
    (opts.min !== undefined && n < opts.min) ||
    (opts.max !== undefined && n > opts.max);
  if (bad) {
    const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : ''].filter(Boolean).join(' and ');
    throw new MmctrError(`${flag} ${value}: expected ${opts.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`);
  }
  return n;
}

/** Parses and validates the flags once. */
export function parseEmbedOptions(given: EmbedCommandOptions): EmbedCliOptions {
  const raw = withRecipe(given);
  const dataRoot = parseDataRoot(raw.data);
  const strategy = oneOf<EmbedStrategy>('--strategy', raw.strategy ?? 'fuse', EMBED_STRATEGIES)!;
  const modalities = raw.modalities?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (modalities) {
    if (modalities.length === 0) throw new MmctrError('--modalities: give at least one');
    for (const m of modalities) oneOf<ModalityName>('--modalities', m, MODALITY_NAMES);
  }
  const perModalityDims = raw.perModalityDims?.split(',').map((s) => num('--per-modality-dims', s.trim(), { integer: true, min: 1 })!);
  const contentReduction = oneOf<Reduction>('--content', raw.content, REDUCTIONS);
  if (contentReduction && strategy !== 'fuse') throw new MmctrError(`--content applies to --strategy fuse (the strategy ${strategy} sets the reduction itself)`);
  const contentWeight = num('--content-weight', raw.contentWeight, { min: 0, max: 1 });
  const seed = num('--seed', raw.seed, { integer: true, min: 0 });
  const collaborative = oneOf<CollaborativeSource>('--collaborative', raw.collaborative, COLLABORATIVE_SOURCES);
  let clusters: ClusterOptions | undefined;
  if (raw.clusters !== undefined) {
    const k = raw.clusters === 'auto' ? 'auto' : num('--clusters', raw.clusters, { integer: true, min: 2 })!;
    const method = oneOf<ClusterMethod>('--cluster-method', raw.clusterMethod, CLUSTER_METHODS);
    const topics = raw.topics === undefined ? undefined : raw.topics === 'auto' ? 'auto' : num('--topics', raw.topics, { integer: true, min: 2 })!;
    if (topics !== undefined && method !== 'cowatch') throw new MmctrError('--topics applies with --cluster-method cowatch');
    clusters = { k, weight: num('--cluster-weight', raw.clusterWeight, { min: 0 }) ?? DEFAULT_CLUSTER_WEIGHT, method, topics };
    if (!(clusters.weight > 0)) throw new MmctrError(`--cluster-weight ${raw.clusterWeight}: expected a number > 0`);
  } else if (raw.clusterWeight !== undefined || raw.clusterMethod !== undefined || raw.topics !== undefined) {
    throw new MmctrError('--cluster-weight, --cluster-method and --topics apply with --clusters <k|auto>');
  }
  if ((collaborative !== undefined || clusters) && strategy !== 'fuse') {
    throw new MmctrError(`--collaborative and --clusters apply to --strategy fuse, not ${strategy}`);
  }
  if (clusters && raw.fusion !== 'concat') throw new MmctrError(`--clusters needs --fusion concat (the block is appended after the concatenation)`);
  if (raw.signalDim !== undefined && raw.whiten !== 'signal') throw new MmctrError('--signal-dim applies with --whiten signal');
  const spec: Partial<EmbedSpec> = {
    strategy,
    outputScale: oneOf<OutputScale>('--output-scale', raw.outputScale, OUTPUT_SCALES),
    modalities: modalities as ModalityName[] | undefined,
    content: {
      reduction: contentReduction,
      perModalityDims,
      whiten: oneOf<WhitenMode>('--whiten', raw.whiten, WHITEN_MODES),
      whitenDim: num('--whiten-dim', raw.whitenDim, { integer: true, min: 1 }),
      balance: raw.balance,
      signalDim: raw.signalDim === undefined || raw.signalDim === 'auto' ? undefined : num('--signal-dim', raw.signalDim, { integer: true, min: 1 }),
    },
    fusion: {
      mode: oneOf<FusionMode>('--fusion', raw.fusion, FUSION_MODES),
      contentWeight,
      collaborativeWeight: contentWeight !== undefined ? 1 - contentWeight : undefined,
      contentDim: num('--fusion-content-dim', raw.fusionContentDim, { integer: true, min: 1 }),
      collaborative,
      clusters,
    },
    word2vec: {
      epochs: num('--w2v-epochs', raw.w2vEpochs, { integer: true, min: 1 }),
      window: num('--w2v-window', raw.w2vWindow, { integer: true, min: 1 }),
      negative: num('--w2v-negative', raw.w2vNegative, { integer: true, min: 0 }),
      learningRate: num('--w2v-lr', raw.w2vLr, { min: 0 }),
      sample: num('--w2v-sample', raw.w2vSample, { min: 0 }),
      minCount: num('--w2v-min-count', raw.w2vMinCount, { integer: true, min: 1 }),
      threads: num('--w2v-threads', raw.w2vThreads, { integer: true, min: 1 }),
      kernel: oneOf<Word2VecKernel>('--w2v-kernel', raw.w2vKernel, WORD2VEC_KERNELS),
      dedupePrefixes: raw.w2vDedupe,
      seed,
    },
  };
  return {
    dataRoot,
    outDir: raw.out ?? path.join(dataRoot, 'embeddings', strategy),
    spec,
    backend: oneOf<ProductBackendChoice>('--backend', raw.backend, PRODUCT_BACKENDS) ?? 'auto',
    validate: raw.validate !== false,
    progress: raw.progress !== false,
    linkData: raw.link !== false,
  };
}

/** The summary printed after a run. */
export function formatEmbedReport(r: EmbedReport): string {
  const lines = [
    `item_emb_d128 (${r.spec.strategy}): ${r.description}`,
    `  ${r.items} items → ${r.file}`,
  ];
  for (const e of r.explained) lines.push(`  explained variance: ${formatExplainedVariance(e)}`);
  for (const w of r.whitenings) lines.push(`  whitening ${w.name}: ${w.k} directions spanning ${(100 * w.kept).toFixed(1)}% of its variance`);
  if (r.word2vec) {
    const w = r.word2vec;
    lines.push(
      `  word2vec: ${w.sequences} distinct histories of ${w.rows} rows, ${w.tokens} items/epoch, vocabulary ${w.vocabulary}; ` +
        `${w.kernel} kernel, ${w.threads} thread${w.threads === 1 ? '' : 's'}, ${Math.round(w.tokensPerSecond)} items/s`,
    );
  }
  if (r.clusters) {
    const c = r.clusters;
    lines.push(`  clusters: k ${c.k} in columns ${c.col0}..${c.col0 + c.k - 1} (value ${c.weight.toFixed(4)} before scaling), ${c.silhouette !== null ? `silhouette ${c.silhouette.toFixed(3)}` : c.method}, sizes ${Math.min(...c.sizes)}..${Math.max(...c.sizes)}`);
  }
  if (r.communities) {
    const m = r.communities;
    lines.push(
      `  communities: k ${m.k}${m.gap ? ` by eigengap (ratio ${m.gap.ratio.toFixed(3)}${m.gap.weak ? ' — WEAK: no clear community structure, clusters unreliable' : ''}; runner-up k ${m.gap.runnerUpK}, ${m.gap.runnerUpRatio?.toFixed(3)})` : ''}; ${m.linkedItems} items linked in ${m.histories} histories; ` +
        `${m.topics}; eigen-solver ${m.solver.iterations} steps, residual ${m.solver.residual.toExponential(1)}${m.solver.converged ? '' : ' (NOT converged)'}; propagation moved ${m.propagation.moved} items`,
    );
  }
  if (r.titleEncoder) lines.push(`  title encoder: hashed TF-IDF, ${r.titleEncoder.features} features → ${r.titleEncoder.dim} dims`);
  const steps = Object.entries(r.seconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');
  lines.push(`  ${r.totalSeconds.toFixed(1)} s (${steps}); peak RSS ${r.peakRssMiB} MiB${r.backend ? `; products on ${r.backend}` : ''}`);
  lines.push(`  explained variances and settings saved in ${path.join(r.outDir, 'embed.json')}`);
  if (r.linked.length) lines.push(`  ${r.outDir} is a data root: ${r.linked.join(', ')} linked from ${r.dataRoot}`);
  return lines.join('\n') + '\n';
}

export async function runEmbed(raw: EmbedCommandOptions): Promise<EmbedReport> {
  const o = parseEmbedOptions(raw);
  // tfjs runs the products only where the OpenBLAS addon is absent (or when asked for).
  if (o.backend === 'tfjs' || (o.backend === 'auto' && !loadNative())) await selectBackend({ quiet: !o.progress });
  const report = await embed({ dataRoot: o.dataRoot, outDir: o.outDir, spec: o.spec, backend: o.backend, validate: o.validate, progress: o.progress, linkData: o.linkData });
  process.stdout.write(formatEmbedReport(report));
  return report;
}

export function register(program: Command): void {
  const w2v = DEFAULT_WORD2VEC_OPTIONS;
  program
    .command('embed')
    .description('Task 1: build item_emb_d128 from text/image/title embeddings and item_seq, write an item_info.parquet')
    .option('--data <root>', DATA_ROOT_HELP)
    .option('--out <dir>', `output folder; gets ${ITEM_INFO_PATH} and embed.json (default <data>/embeddings/<strategy>)`)
    .option('--recipe <name>', `a named set of the flags below, measured together (explicit flags override it): ${EMBED_RECIPE_NAMES.join(' | ')}; communities = --strategy fuse --balance --whiten signal --fusion concat --w2v-window 20 --collaborative residual --clusters auto --cluster-method cowatch --output-scale as-is, the best table measured (DIN 0.8446 valid AUC on data/small)`)
    .option('--strategy <name>', `${EMBED_STRATEGIES.join(' | ')} (default fuse)`)
    .option('--modalities <list>', `content modalities, comma-separated: ${MODALITY_NAMES.join(', ')} (default text,image)`)
    .option('--content <reduction>', `content reduction for --strategy fuse: ${REDUCTIONS.join(' | ')} (default concat-pca)`)
    .option('--per-modality-dims <list>', 'per-modality-pca: dims per modality, comma-separated, summing to 128 (default an equal split)')
    .option('--whiten <mode>', `whitening: ${WHITEN_MODES.join(' | ')} (default none)`)
    .option('--balance', 'concat-pca: divide each modality by the root of its mean per-coordinate variance first, so modalities weigh the same (default off)')
    .option('--signal-dim <n|auto>', "--whiten signal: leading directions kept and whitened (auto = the largest eigengap among 4..96; default auto)")
    .option('--whiten-dim <n>', 'whiten before: directions kept per modality (default 256)')
    .option('--fusion <mode>', `fuse: ${FUSION_MODES.join(' | ')} (default concat-pca)`)
    .option('--content-weight <x>', 'fuse: weight of the content vector; the collaborative one gets 1 − x (default 0.5)')
    .option('--fusion-content-dim <n>', 'fuse --fusion concat: coordinates of the content part; word2vec gets the rest of 128 (default 64)')
    .option('--collaborative <source>', `fuse: ${COLLABORATIVE_SOURCES.join(' | ')}: the word2vec vectors, or their least-squares residual on the content vectors (default raw)`)
    .option('--clusters <k|auto>', `fuse --fusion concat: append a one-hot block of k spherical k-means clusters of the collaborative vectors; auto = best silhouette among ${AUTO_CLUSTER_KS.join(', ')} (default none)`)
    .option('--cluster-method <m>', `with --clusters: kmeans (spherical k-means of the collaborative vectors) or cowatch (spectral communities of the histories' cross-topic co-occurrence, k = auto by eigengap); default kmeans`)
    .option('--topics <k|auto>', `with --cluster-method cowatch: content topics whose same-topic pairs are masked; auto = best silhouette among ${AUTO_TOPIC_KS.join(', ')} (default auto)`)
    .option('--cluster-weight <w>', `value of the item's cluster column, before the output scaling (default √0.5 = ${DEFAULT_CLUSTER_WEIGHT.toFixed(4)})`)
    .option('--w2v-epochs <n>', `word2vec epochs (default ${w2v.epochs})`)
    .option('--w2v-window <n>', `word2vec window (default ${w2v.window})`)
    .option('--w2v-negative <n>', `negative samples per pair (default ${w2v.negative})`)
    .option('--w2v-lr <x>', `initial learning rate (default ${w2v.learningRate})`)
    .option('--w2v-sample <x>', `down-sampling threshold, 0 = none (default ${w2v.sample})`)
    .option('--w2v-min-count <n>', `least occurrences for a vector (default ${w2v.minCount})`)
    .option('--w2v-threads <n>', `worker threads; 1 is bit-reproducible (default ${w2v.threads})`)
    .option('--w2v-kernel <name>', `${WORD2VEC_KERNELS.join(' | ')} (default auto: wasm SIMD where it runs)`)
    .option('--no-w2v-dedupe', 'train on every item_seq row, not only the histories that are no prefix of another')
    .option('--output-scale <mode>', `${OUTPUT_SCALES.join(' | ')}: one global factor giving the table a mean squared coordinate of 1, or the strategy's own scale (default unit-rms)`)
    .option('--seed <n>', `seed of word2vec (default ${w2v.seed})`)
    .option('--backend <name>', `engine of the PCA products: ${PRODUCT_BACKENDS.join(' | ')} (default auto: native OpenBLAS addon, else tfjs)`)
    .option('--no-validate', 'skip the loaders value checks (structure is always checked)')
    .option('--no-link', "do not link the data root's other tables (splits, item_feature, item_emb, item_seq, oracle/) into --out")
    .option('--no-progress', 'print no progress lines on stderr')
    .addHelpText(
      'after',
      [
        '',
        'Strategies: concat-pca = PCA of [text ‖ image] to 128 (the baseline); per-modality-pca = PCA of each',
        'modality, concatenated (64 + 64); word2vec = skip-gram over item_seq; fuse = content and word2vec vectors,',
        'each L2-normalised, concatenated with weights 0.5/0.5 and reduced to 128 by PCA (--fusion weighted: their',
        'weighted sum instead, as in the CLIP + Word2Vec pipeline; --fusion concat: each source PCA-reduced to its',
        'share (64 + 64), re-normalised and concatenated, no joint PCA). --collaborative residual fuses what of',
        'word2vec the content vectors do not predict (least squares with intercept); --clusters k (with --fusion',
        'concat) keeps the last k columns for a one-hot of the item\'s k-means cluster of the collaborative vectors',
        'and shares the rest as --fusion-content-dim does (48 + 48 + 32 for k = 32). The best measured table is',
        'a recipe (the main job builds it before training):',
        '  mmctr embed --data data/small --out runs/emb-communities --recipe communities',
        '',
        'The output folder is a data root: item_info.parquet is its own, the other tables (and oracle/) are links to',
        "--data's, so models train on it unchanged. --out <data> replaces that root's item_info.parquet instead. Example:",
        '  mmctr embed --data data/small --out runs/emb-fuse   # → runs/emb-fuse/MicroLens_1M_x1/item_info.parquet',
        '  mmctr train --model din --preset dinSmall --data runs/emb-fuse'
      ].join('\n'),
    )
    .action(async (opts: EmbedCommandOptions) => {
      await runEmbed(opts);
    });
}
