/**
 * `mmctr synth --scale <tiny|small|full> --out <dir> --seed <n> [--users n] [--train-rows n] [--valid-rows n]
 * [--test-rows n] [--item-seq-rows n]`: synthetic MicroLens_1M_x1 data with a known ground truth (see
 * src/data/synth). The size flags override the scale's sizes (items and tags stay the scale's), so data can be made
 * at any scale up to the real one. Prints a summary with the oracle AUC.
 */
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import {
  DEFAULT_SYNTH_SEED,
  scaleSizes,
  SYNTH_SCALES,
  SYNTH_SIZE_FLAGS,
  synthesize,
  type SynthReport,
  type SynthScale,
  type SynthSizeOverrideKey,
  type SynthSizes,
} from '../data/synth';

export interface SynthCliOptions {
  scale: SynthScale;
  out: string;
  seed: number;
  progress: boolean;
  retrieval: boolean;
  /** Sizes that replace the scale's (users, train/valid/test/item_seq rows). Default: none (absent). */
  sizes?: Partial<Pick<SynthSizes, SynthSizeOverrideKey>>;
}

export interface RawSynthFlags {
  scale?: string;
  out?: string;
  seed?: string;
  progress?: boolean;
  retrieval?: boolean;
  users?: string;
  trainRows?: string;
  testRows?: string;
  validRows?: string;
  itemSeqRows?: string;
}

/** RawSynthFlags field (commander's camel case) of each size flag. */
const SIZE_FIELDS: Record<SynthSizeOverrideKey, keyof RawSynthFlags> = {
  numUsers: 'users',
  trainRows: 'trainRows',
  validRows: 'validRows',
  testRows: 'testRows',
  itemSeqRows: 'itemSeqRows',
};

/** The size flags given, each an integer in [1, the full scale's value]. */
function parseSizeFlags(raw: RawSynthFlags): Partial<Pick<SynthSizes, SynthSizeOverrideKey>> | undefined {
  const full = scaleSizes('full');
  const out: Partial<Pick<SynthSizes, SynthSizeOverrideKey>> = {};
  for (const key of Object.keys(SIZE_FIELDS) as SynthSizeOverrideKey[]) {
    const text = raw[SIZE_FIELDS[key]];
    if (text === undefined) continue;
    const flag = SYNTH_SIZE_FLAGS[key];
    const n = Number(text);
    if (typeof text !== 'string' || !/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
      throw new MmctrError(`synth: ${flag} must be a positive integer, got '${String(text)}'`);
    }
    if (n > full[key]) throw new MmctrError(`synth: ${flag} ${n} is more than the full scale's ${full[key]} (the real data's size)`);
    out[key] = n;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Validates raw commander values once. */
export function parseSynthOptions(raw: RawSynthFlags): SynthCliOptions {
  const scale = (raw.scale ?? 'small') as SynthScale;
  if (!SYNTH_SCALES.includes(scale)) {
    throw new MmctrError(`synth: --scale must be one of ${SYNTH_SCALES.join(', ')}, got '${raw.scale}'`);
  }
  const seedText = raw.seed ?? String(DEFAULT_SYNTH_SEED);
  const seed = Number(seedText);
  if (!/^\d+$/.test(seedText) || !Number.isSafeInteger(seed)) {
    throw new MmctrError(`synth: --seed must be a non-negative integer, got '${seedText}'`);
  }
  const sizes = parseSizeFlags(raw);
  return {
    scale,
    out: raw.out ?? `data/${scale}`,
    seed,
    progress: raw.progress !== false,
    retrieval: raw.retrieval !== false,
    ...(sizes ? { sizes } : {}),
  };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Human-readable summary of a generation. */
export function formatSynthReport(r: SynthReport): string {
  const a = r.diagnostics.auc;
  const over = Object.entries(r.sizeOverrides);
  const lines = [
    `synthetic MicroLens_1M_x1 (${r.scale}${over.length ? ` with sizes overridden: ${over.map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}, ` +
      `seed ${r.seed}) → ${r.outDir}`,
    `  items ${r.sizes.numItems}, tags ${r.sizes.numTags}, users ${r.sizes.numUsers}; ` +
      `rows: train ${r.sizes.trainRows}, valid ${r.sizes.validRows}, test ${r.sizes.testRows}, item_seq ${r.sizes.itemSeqRows}`,
    `  positive rate: train ${f3(r.positiveRate.train)}, valid ${f3(r.positiveRate.valid)}, test ${f3(r.positiveRate.test)}`,
    `  oracle AUC: valid ${f3(r.oracleAuc.valid)}, test ${f3(r.oracleAuc.test)}`,
    `  proxies (test AUC, true parameters): mean-pooled history ${f3(a.test.meanPooled)}, no history ${f3(a.test.noHistory)}, ` +
      `item mean p ${f3(a.test.itemMeanP)}, levels only ${f3(a.test.levelsOnly)}, ` +
      `content only ${f3(a.test.contentOnly)}, community only ${f3(a.test.communityOnly)}`,
    `  oracle with latents from item_emb_d128 (ridge, R² ${f3(r.diagnostics.latentR2FromItemEmb)}) ${f3(a.test.latentFromItemEmb ?? NaN)}, ` +
      `with topic means only ${f3(a.test.groupLevel ?? NaN)}`,
  ];
  const ret = r.diagnostics.retrieval;
  if (ret) {
    lines.push(
      `  topic precision@${ret.k}: item_emb_d128 ${f3(ret.topic.itemEmbD128)}, text ${f3(ret.topic.text)}, image ${f3(ret.topic.image)}, ` +
        `balanced (e4) ${f3(ret.topic.balanced)}, chance ${f3(ret.topic.chance)}`,
      `  community precision@${ret.k}: item_emb_d128 ${f3(ret.community.itemEmbD128)}, ` +
        `co-occurrence ${f3(ret.community.cooccurrence)}, chance ${f3(ret.community.chance)}`,
    );
  }
  const bytes = r.files.reduce((s, f) => s + f.bytes, 0);
  lines.push(`  ${r.files.length} files, ${mib(bytes)}; ${r.totalSeconds.toFixed(1)} s, peak RSS ${r.peakRssMiB} MiB`);
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('synth')
    .description(
      'generate synthetic MicroLens_1M_x1 data with the real schema and a known ground truth ' +
        '(true click probabilities, oracle AUC)',
    )
    .option('--scale <scale>', `size: ${SYNTH_SCALES.join(' | ')} (full = the real row counts)`, 'small')
    .option('--out <dir>', 'data root to write (default: data/<scale>)')
    .option('--seed <n>', 'root seed; same seed, scale and sizes give the same bytes', String(DEFAULT_SYNTH_SEED))
    .option('--users <n>', "users (default: the scale's; at most the full 1,000,000)")
    .option('--train-rows <n>', "train.parquet rows (default: the scale's; at most the distinct train prefixes of the users' sequences)")
    .option('--valid-rows <n>', "valid.parquet rows (default: the scale's; valid + test rows at most the users)")
    .option('--test-rows <n>', "test.parquet rows (default: the scale's)")
    .option('--item-seq-rows <n>', "item_seq.parquet rows (default: the scale's; at most the distinct prefixes of the users' sequences)")
    .option('--no-progress', 'print no progress lines on stderr')
    .option('--no-retrieval', 'skip the nearest-neighbour and co-occurrence diagnostics')
    .addHelpText(
      'after',
      '\nWrites <out>/MicroLens_1M_x1/{train,valid,test,item_info}.parquet,\n' +
        '<out>/{item_feature,item_emb,item_seq}.parquet and the ground truth under <out>/oracle/\n' +
        '(true p per valid/test row, item and user truth, ground_truth.json).\n' +
        'Size flags override the scale\'s sizes (items and tags stay the scale\'s), e.g. small with 4× users and rows:\n' +
        '  mmctr synth --scale small --users 128000 --train-rows 600000 --item-seq-rows 800000 --out runs/scale4',
    )
    .action(async (raw: RawSynthFlags) => {
      const o = parseSynthOptions(raw);
      const report = await synthesize({
        outDir: o.out,
        scale: o.scale,
        seed: o.seed,
        progress: o.progress,
        skipRetrievalDiagnostics: !o.retrieval,
        ...(o.sizes ? { overrides: { sizes: o.sizes } } : {}),
      });
      process.stdout.write(formatSynthReport(report));
    });
}
