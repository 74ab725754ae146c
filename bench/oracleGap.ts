/**
 * Issue 3's bar (c), "the best model is within 0.01 of the oracle AUC", on the synthetic data: is the gap between
 * DIN and the oracle estimation error (too few train rows for what the model must learn) or information (the item
 * vectors lack what the oracle knows)? DIN `dinSmall` is trained on the first frac·N train rows for each item table:
 *   fused        the project's default Task 1 table (`mmctr embed` defaults: fuse concat-pca of concat-pca(text+image)
 *                and word2vec; Word2Vec on one thread so the table is reproducible), cached under runs/oracle-gap/
 *   fused-clusters  an opt-in Task 1 table (runs/t1/summary.md): fuse concat of content and the residual of
 *                Word2Vec (window 20) on content, + a one-hot block of spherical k-means clusters (k by silhouette,
 *                value √0.5), unit RMS; cached like fused
 *   truth        the generator's true item vectors (bench/lib/truthItemTable.ts): what a perfect Task 1 would give
 *   fused-clusters-diag  the fused-clusters table, DIN with 4 diagonal match heads on item_emb (matchForm
 *                'diagonal', matchOn 'pretrained', pretrainedDim 128) and embedding L2 1e-3
 *   truth-match  truth with DIN args {matchHeads: 4, pretrainedDim: 128} (only when --tables names it)
 *   truth-diag   truth with the model and L2 of fused-clusters-diag
 *   truth-nobias-diag, truth-content-diag, truth-community-diag  where the pipeline's gap goes: truth without the
 *                per-item bias; true content + fused-clusters' collaborative blocks; fused-clusters' content + true
 *                communities (the model of fused-clusters-diag)
 * The truth* tables read the generator's hidden truth, which the pipeline cannot: they are references for what the
 * model could do with a perfect Task 1, and bar (c) counts only the tables the pipeline computes (fused*).
 * If truth at full rows is far above fused, the fused table lacks information; if AUC still rises steeply with
 * rows, the model is short of data. Per table a straight line of AUC against log2(train rows) is fitted and
 * extrapolated to oracle − 0.01 (an extrapolation, not a measurement).
 *
 *   npm run bench:oracle-gap                     (6 trainings: ~10–40 s each on the native backend, minutes on wasm)
 *   node --import tsx bench/oracleGap.ts [--data data/small] [--tables fused,truth] [--fracs 0.25,0.5,1]
 *        [--preset dinSmall] [--epochs 4] [--batch-size 512] [--lr 0.002] [--patience 1] [--seed 20242025] [--merge]
 *   node --import tsx bench/oracleGap.ts --report   no training: the notes of the results file recomputed over its rows
 * `--merge` keeps the rows of other (data, table, frac) triples from the previous results made with the same settings
 * (the data folder is part of a row's key, not of the settings), so the grid can be filled over several invocations
 * and data folders (e.g. data/small and a larger `mmctr synth --users … --train-rows …` folder) sit side by side;
 * each folder's rows are compared with its own oracle (<data>/oracle/ground_truth.json). The results are rewritten
 * after every training.
 *
 * Writes bench/results/oracleGap.{md,json}.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MICROLENS_DIMS, microlensTables } from '../src/data/schema';
import { selectBackend } from '../src/engine/backend';
import { computeEmbedding, loadEmbedInputs, resolveEmbedSpec, type EmbedSpec } from '../src/features';
import { buildContentTable, contentVectors } from '../src/features/embed';
import { covariance } from '../src/features/pca';
import { loadItemInfo } from '../src/data/load';
import type { DinArgs } from '../src/models/din';
import { createModel, presetArgs, type PresetName } from '../src/models/registry';
import type { ItemTable } from '../src/models/types';
import { loadTrainingData } from '../src/train/data';
import { train } from '../src/train/trainer';
import { setProgressEnabled } from '../src/util/progress';
import { loadAverage } from './lib/benchUtil';
import { fitLog2Line, headSplit, rowsAtAuc, type CurvePoint, type Log2Line } from './lib/learningCurve';
import { mergeRows, readPreviousResults } from './lib/mergeResults';
import { writeResults, type Row } from './lib/results';
import { clustersOfTable, estimatedBias, plantedAuc, ridgeLatents } from './lib/plantedCeiling';
import { COMMUNITY_SLOTS, readTruthItems, truthItemTable } from './lib/truthItemTable';

type TableName =
  | 'fused'
  | 'fused-clusters'
  | 'fused-clusters-diag'
  | 'fused-cowatch-diag'
  | 'fused-cowatch-signal-diag'
  | 'truth'
  | 'truth-match'
  | 'truth-diag'
  | 'truth-nobias-diag'
  | 'truth-content-diag'
  | 'truth-community-diag';

interface TableDef {
  name: TableName;
  /** DIN args over the preset's. */
  modelArgs: Partial<DinArgs>;
  /** Trainer settings over the bench's (--lr, --epochs, …). */
  trainArgs?: { embeddingRegularizer?: number };
  /** What item_emb holds, for the notes. */
  description: string;
  /**
   * Built from the generator's hidden truth (item latents, communities, biases), which no model of the pipeline
   * can read: such rows measure what the model could do with a perfect Task 1, and never count for bar (c).
   */
  reference: boolean;
}

const TRUTH_DESCRIPTION = "the generator's item vectors from oracle/item_truth.parquet, [√1.5·z/‖z‖ (24) ‖ one-hot community (64 slots) ‖ popularity_std ‖ bias/0.3 ‖ 0…]";
/**
 * DIN with 4 diagonal match heads on the item_emb part (src/models/din.ts `matchForm: 'diagonal'`, `matchOn:
 * 'pretrained'`), the item_emb projection at full width 128, and embedding L2 1e-3: the best DIN settings found on
 * data/small (2026-11-23: on the fused-clusters table 0.8024 with dinSmall → 0.8101 with L2 1e-3 → 0.8138 with
 * bilinear heads on item_emb → 0.8197 with diagonal heads).
 */
const DIAG_MODEL: Partial<DinArgs> = { matchHeads: 4, pretrainedDim: 128, matchOn: 'pretrained', matchForm: 'diagonal' };
const DIAG_TRAIN = { embeddingRegularizer: 1e-3 };
const FUSED_CLUSTERS_DESCRIPTION =
  "`mmctr embed --fusion concat --w2v-window 20 --collaborative residual --clusters auto` (Word2Vec on one thread): fuse concat of concat-pca(text+image) and the least-squares residual of word2vec (window 20) on it, + a one-hot block of spherical k-means clusters of that residual (k by silhouette among 16, 24, 32, 48, 64; value √0.5), unit RMS";
const FUSED_COWATCH_DESCRIPTION =
  "`mmctr embed --fusion concat --w2v-window 20 --collaborative residual --clusters auto --cluster-method cowatch` (Word2Vec on one thread): the fused-clusters table with its cluster block from the co-watching communities (src/features/communities.ts: spectral clusters of the cross-topic co-occurrence of the user histories, same-topic pairs masked by spherical k-means topics of the content vectors, k by eigengap, label propagation)";
const FUSED_COWATCH_SIGNAL_DESCRIPTION =
  '`mmctr embed --fusion concat --w2v-window 20 --collaborative residual --clusters auto --cluster-method cowatch --balance --whiten signal --output-scale as-is`: the fused-cowatch table with its content from the PCA of the modality-balanced concatenation (each modality ÷ the root of its mean per-coordinate variance), the leading directions up to the largest eigengap whitened and the rest zeroed (src/features/content.ts), and no rescaling to unit RMS';
const DIAG_DESCRIPTION = 'DIN with 4 diagonal match heads on the projected item_emb (matchForm diagonal, matchOn pretrained, pretrainedDim 128), embedding L2 1e-3';
const TABLES: readonly TableDef[] = [
  {
    name: 'fused',
    reference: false,
    modelArgs: {},
    description: "the project's default Task 1 table (`mmctr embed` defaults: fuse concat-pca of concat-pca(text+image → 128) and word2vec over item_seq, unit RMS), Word2Vec on one thread",
  },
  { name: 'fused-clusters', reference: false, modelArgs: {}, description: FUSED_CLUSTERS_DESCRIPTION },
  {
    name: 'fused-clusters-diag',
    reference: false,
    modelArgs: DIAG_MODEL,
    trainArgs: DIAG_TRAIN,
    description: `the fused-clusters table; ${DIAG_DESCRIPTION}`,
  },
  {
    name: 'fused-cowatch-diag',
    reference: false,
    modelArgs: DIAG_MODEL,
    trainArgs: DIAG_TRAIN,
    description: `${FUSED_COWATCH_DESCRIPTION}; ${DIAG_DESCRIPTION}`,
  },
  {
    name: 'fused-cowatch-signal-diag',
    reference: false,
    modelArgs: DIAG_MODEL,
    trainArgs: DIAG_TRAIN,
    description: `${FUSED_COWATCH_SIGNAL_DESCRIPTION}; ${DIAG_DESCRIPTION}`,
  },
  { name: 'truth', reference: true, modelArgs: {}, description: TRUTH_DESCRIPTION },
  {
    name: 'truth-match',
    reference: true,
    modelArgs: { matchHeads: 4, pretrainedDim: 128 },
    description: `${TRUTH_DESCRIPTION}; DIN with 4 (bilinear) match heads on the full 128-d vector`,
  },
  { name: 'truth-diag', reference: true, modelArgs: DIAG_MODEL, trainArgs: DIAG_TRAIN, description: `${TRUTH_DESCRIPTION}; ${DIAG_DESCRIPTION}` },
  // Where the pipeline's gap goes: one part of the fused-clusters table swapped for the truth at a time.
  {
    name: 'truth-nobias-diag',
    reference: true,
    modelArgs: DIAG_MODEL,
    trainArgs: DIAG_TRAIN,
    description: `the truth table without its bias column (the per-item click bias no item table can carry); ${DIAG_DESCRIPTION}`,
  },
  {
    name: 'truth-content-diag',
    reference: true,
    modelArgs: DIAG_MODEL,
    trainArgs: DIAG_TRAIN,
    description: `[√1.5·z/‖z‖ (24, true content) ‖ the fused-clusters table's collaborative and cluster blocks]: Task 1's community side with a perfect content side; ${DIAG_DESCRIPTION}`,
  },
  {
    name: 'truth-community-diag',
    reference: true,
    modelArgs: DIAG_MODEL,
    trainArgs: DIAG_TRAIN,
    description: `[the fused-clusters table's content block ‖ one-hot true community (64) ‖ popularity_std]: Task 1's content side with a perfect community side; ${DIAG_DESCRIPTION}`,
  },
];

/** Bar (c): the best model at most this far below the oracle. */
const BAR_GAP = 0.01;
const RESULTS_NAME = 'oracleGap';
const RESULTS_JSON = path.resolve('bench/results', `${RESULTS_NAME}.json`);
/** Flags that pick rows of the grid without changing its settings (for --merge); the data folder is a row key. */
const SELECTION_FLAGS = ['--data', '--tables', '--fracs'];
/** The fused table's spec: `mmctr embed`'s defaults, Word2Vec on one thread (bit-reproducible). */
const FUSED_SPEC: Partial<EmbedSpec> = { word2vec: { threads: 1 } };
/** The fused-clusters table's spec (opt-in options of `mmctr embed`), Word2Vec on one thread. */
const FUSED_CLUSTERS_SPEC: Partial<EmbedSpec> = {
  word2vec: { threads: 1, window: 20 },
  fusion: { mode: 'concat', collaborative: 'residual', clusters: { k: 'auto', weight: Math.SQRT1_2 } },
};
/** The fused-cowatch table's spec: fused-clusters with the co-watching communities as its cluster block. */
const FUSED_COWATCH_SPEC: Partial<EmbedSpec> = {
  word2vec: { threads: 1, window: 20 },
  fusion: { mode: 'concat', collaborative: 'residual', clusters: { k: 'auto', weight: Math.SQRT1_2, method: 'cowatch' } },
};
/**
 * fused-cowatch with balanced, signal-whitened content, written as-is (row norm √1.5) instead of at unit RMS (row
 * norm √128): on data/small DIN's diagonal heads did better on the smaller inputs (0.8450 as-is, 0.8440 at 1/5.3
 * of unit RMS, 0.8388 at unit RMS; runs/scratch/trainTable.ts, one seed each, 2026-11-23).
 */
const FUSED_COWATCH_SIGNAL_SPEC: Partial<EmbedSpec> = { ...FUSED_COWATCH_SPEC, content: { balance: true, whiten: 'signal' }, outputScale: 'as-is' };
/** The computed tables and their specs (cached under runs/oracle-gap/<data>/<name>.{f32,json}). */
const COMPUTED_SPECS = { fused: FUSED_SPEC, 'fused-clusters': FUSED_CLUSTERS_SPEC, 'fused-cowatch': FUSED_COWATCH_SPEC, 'fused-cowatch-signal': FUSED_COWATCH_SIGNAL_SPEC } as const satisfies Partial<
  Record<TableName | 'fused-cowatch' | 'fused-cowatch-signal', Partial<EmbedSpec>>
>;
type ComputedTable = keyof typeof COMPUTED_SPECS;

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: 'data/small' },
    tables: { type: 'string', default: 'fused,truth' },
    fracs: { type: 'string', default: '0.25,0.5,1' },
    preset: { type: 'string', default: 'dinSmall' },
    epochs: { type: 'string', default: '4' },
    'batch-size': { type: 'string', default: '512' },
    lr: { type: 'string', default: '0.002' },
    patience: { type: 'string', default: '1' },
    seed: { type: 'string', default: '20242025' },
    merge: { type: 'boolean', default: false },
    report: { type: 'boolean', default: false },
  },
});

function positive(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`${flag} ${value}: expected a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

const root = args.data!;
const tables = args.tables!.split(',').map((s) => s.trim()).filter(Boolean).map((name) => {
  const t = TABLES.find((d) => d.name === name);
  if (!t) throw new Error(`--tables: unknown table '${name}' (known: ${TABLES.map((d) => d.name).join(', ')})`);
  return t;
});
const fracs = args.fracs!.split(',').map((s) => {
  const f = positive('--fracs', s.trim(), false);
  if (f > 1) throw new Error(`--fracs ${s}: a fraction of the train rows is at most 1`);
  return f;
});
const preset = args.preset! as PresetName<'din'>;
const baseArgs = presetArgs('din', preset); // throws on an unknown preset before anything is loaded
const trainConfig = {
  epochs: positive('--epochs', args.epochs!, true),
  batchSize: positive('--batch-size', args['batch-size']!, true),
  learningRate: positive('--lr', args.lr!, false),
  patience: positive('--patience', args.patience!, true),
  seed: Number(args.seed),
};
if (!Number.isSafeInteger(trainConfig.seed) || trainConfig.seed < 0) throw new Error(`--seed ${args.seed}: expected a non-negative integer`);

/** The ground truth's figures quoted beside the table. */
interface GroundTruth {
  scale?: string;
  sizes?: Record<string, number>;
  sizeOverrides?: Record<string, number>;
  oracleAuc?: { valid?: number; test?: number };
  diagnostics?: { auc?: { valid?: Record<string, number> } };
}

/** One data folder's oracle: its ground truth, valid oracle AUC and the generator's valid diagnostics. */
interface FolderOracle {
  file: string;
  gt: GroundTruth;
  oracle: number;
  diag: Record<string, number>;
}

const oracles = new Map<string, FolderOracle>();
/** The oracle of a data folder (as given on the command line), read once; throws when it has none. */
function oracleOf(dataRoot: string): FolderOracle {
  const known = oracles.get(dataRoot);
  if (known) return known;
  const file = path.join(dataRoot, 'oracle', 'ground_truth.json');
  if (!existsSync(file)) throw new Error(`${file}: not found; this benchmark needs synthetic data with its oracle (mmctr synth)`);
  const gt = JSON.parse(readFileSync(file, 'utf8')) as GroundTruth;
  const oracle = gt.oracleAuc?.valid;
  if (typeof oracle !== 'number') throw new Error(`${file}: no oracleAuc.valid`);
  const o = { file, gt, oracle, diag: gt.diagnostics?.auc?.valid ?? {} };
  oracles.set(dataRoot, o);
  return o;
}
const { oracle } = oracleOf(root);

/** runs/oracle-gap/<data folder as a slug>: the fused table and what it was computed from. */
/** Where a data folder's computed tables are cached. */
const cacheDirOf = (dataRoot: string) =>
  path.join('runs', 'oracle-gap', path.relative('.', path.resolve(dataRoot)).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'root');
const cacheDir = cacheDirOf(root);

/** What a cached computed table depends on: the spec and the input files' sizes and times. */
function fusedCacheKey(spec: Partial<EmbedSpec>): string {
  const t = microlensTables();
  const files = [t.item_feature.path, t.item_seq.path].map((p) => {
    const s = statSync(path.join(root, p));
    return { file: p, size: s.size, mtimeMs: s.mtimeMs };
  });
  return JSON.stringify({ root: path.resolve(root), spec: resolveEmbedSpec(spec), files });
}

/** A computed table (fused, fused-clusters), from runs/oracle-gap/ when computed before from the same inputs. */
async function fusedVectors(name: ComputedTable, rows: number, dim: number): Promise<{ vectors: Float32Array; note: string }> {
  const spec = COMPUTED_SPECS[name];
  const key = fusedCacheKey(spec);
  const bin = path.join(cacheDir, `${name}.f32`);
  const meta = path.join(cacheDir, `${name}.json`);
  const described = path.join(cacheDir, `${name}.txt`);
  if (existsSync(bin) && existsSync(meta) && readFileSync(meta, 'utf8') === key) {
    const buf = readFileSync(bin);
    if (buf.byteLength === rows * dim * 4) {
      const what = existsSync(described) ? ` (${readFileSync(described, 'utf8').trim()})` : '';
      return { vectors: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), note: `read from ${bin}${what}` };
    }
  }
  const t0 = performance.now();
  const inputs = await loadEmbedInputs(root);
  const res = await computeEmbedding(inputs, spec, { progress: false });
  if (res.vectors.length !== rows * dim) throw new Error(`${name} table: ${res.vectors.length / dim} rows, item_info has ${rows}`);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(bin, new Uint8Array(res.vectors.buffer, res.vectors.byteOffset, res.vectors.byteLength));
  writeFileSync(meta, key);
  writeFileSync(described, res.description + '\n');
  return { vectors: res.vectors, note: `computed in ${((performance.now() - t0) / 1000).toFixed(0)} s (${res.description}), cached in ${bin}` };
}

/** The k of the k-means cluster block named in a fused-clusters table's description (`… k-means k=32 …`); null if none. */
function clusterKOf(description: string): number | null {
  const k = Number(/(?:k-means|communities) k=(\d+)/.exec(description)?.[1]);
  return Number.isInteger(k) ? k : null;
}

/** Columns [a, b) of each [rows × cols] source, side by side from column 0 of a new table (the rest zero). */
function splice(parts: readonly [Float32Array, number, number][], rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  let at = 0;
  for (const [src, a, b] of parts) {
    if (at + b - a > cols) throw new Error(`splice: ${at + b - a} columns do not fit in ${cols}`);
    for (let r = 0; r < rows; r++) out.set(src.subarray(r * cols + a, r * cols + b), r * cols + at);
    at += b - a;
  }
  return out;
}

async function itemTableFor(name: TableName, base: ItemTable): Promise<{ table: ItemTable; note: string }> {
  const { rows, cols } = base.emb;
  switch (name) {
    case 'fused':
    case 'fused-clusters':
    case 'fused-clusters-diag':
    case 'fused-cowatch-diag':
    case 'fused-cowatch-signal-diag': {
      const source = (name.endsWith('-diag') ? name.slice(0, -'-diag'.length) : name) as ComputedTable; // a table, another model
      const { vectors, note } = await fusedVectors(source, rows, cols);
      return { table: { ...base, emb: { data: vectors, rows, cols } }, note: `${name} table ${note}.` };
    }
    case 'truth':
    case 'truth-match':
    case 'truth-diag':
      return { table: { ...base, emb: { data: truthItemTable(readTruthItems(root), rows, cols), rows, cols } }, note: '' };
    case 'truth-nobias-diag': {
      const truth = readTruthItems(root);
      const data = truthItemTable(truth, rows, cols);
      const biasAt = truth[0].latent.length + COMMUNITY_SLOTS + 1;
      for (let r = 0; r < rows; r++) data[r * cols + biasAt] = 0;
      return { table: { ...base, emb: { data, rows, cols } }, note: '' };
    }
    case 'truth-content-diag':
    case 'truth-community-diag': {
      const truthItems = readTruthItems(root);
      const truth = truthItemTable(truthItems, rows, cols);
      const L = truthItems[0].latent.length;
      const fc = await fusedVectors('fused-clusters', rows, cols);
      // The fused-clusters layout (src/features/fuse.ts): content (128 − k)/2 ‖ collaborative ‖ k cluster columns.
      const k = clusterKOf(fc.note);
      if (k === null) throw new Error(`${name}: the fused-clusters table's description names no k-means k (${fc.note})`);
      const contentWidth = (cols - k) / 2;
      const parts: [Float32Array, number, number][] =
        name === 'truth-content-diag'
          ? [[truth, 0, L], [fc.vectors, contentWidth, cols]]
          : [[fc.vectors, 0, contentWidth], [truth, L, L + COMMUNITY_SLOTS + 1]];
      return { table: { ...base, emb: { data: splice(parts, rows, cols), rows, cols } }, note: `${name}: ${parts.map(([src, a, b]) => `${src === truth ? 'truth' : 'fused-clusters'} columns ${a}–${b - 1}`).join(' ‖ ')}.` };
    }
    default: {
      const never: never = name;
      throw new Error(`unknown table ${String(never)}`);
    }
  }
}

const describeArgs = (a: Partial<DinArgs>) => (Object.keys(a).length ? `${preset} + ${Object.entries(a).map(([k, v]) => `${k} ${v}`).join(', ')}` : preset);
const keyOf = (r: Row) => `${r.data} ${r.table} @ ${r.frac}`;
const tableOrder = (r: Row) => TABLES.findIndex((t) => t.name === r.table);
const compareRows = (a: Row, b: Row) =>
  String(a.data).localeCompare(String(b.data)) || tableOrder(a) - tableOrder(b) || Number(a.frac) - Number(b.frac);
const previous = args.merge || args.report ? readPreviousResults(RESULTS_JSON) : null;
if (args.report && !previous) throw new Error(`--report: no previous results in ${RESULTS_JSON}`);
// --report trains nothing: the rows and the command stay those of the results file; only the notes are recomputed.
const command = args.report
  ? previous!.command
  : `node --import tsx bench/oracleGap.ts --data ${root} --preset ${preset} --epochs ${args.epochs} --batch-size ${args['batch-size']} ` +
    `--lr ${args.lr} --patience ${args.patience} --seed ${args.seed} --tables ${tables.map((t) => t.name).join(',')} --fracs ${fracs.join(',')}${args.merge ? ' --merge' : ''}`;
if (previous) {
  // Results written before the data column: their rows are of the folder named in their command.
  const before = /(?:^| )--data (\S+)/.exec(previous.command)?.[1] ?? 'data/small';
  previous.rows = previous.rows.map((r) => ('data' in r ? r : { data: before, ...r }));
}

/** Per table: the least-squares line of AUC against log2(train rows) and where it would reach oracle − BAR_GAP. */
function fitNotes(rows: readonly Row[], oracle: number): string[] {
  const target = oracle - BAR_GAP;
  return TABLES.flatMap((t) => {
    const pts: CurvePoint[] = rows.filter((r) => r.table === t.name).map((r) => ({ trainRows: Number(r['train rows']), auc: Number(r['valid AUC']) }));
    if (pts.length === 0) return [];
    const line = fitLog2Line(pts);
    if (!line) return [`${rows[0].data} ${t.name}: one row count measured; no line fitted.`];
    const full = Math.max(...pts.map((p) => p.trainRows));
    const reach = (l: Log2Line) => {
      const n = rowsAtAuc(l, target);
      return Number.isFinite(n)
        ? `${n.toExponential(2)} train rows (${n / full < 1000 ? (n / full).toFixed(1) : (n / full).toExponential(1)} × the largest measured, ${full}; ${Math.log2(n / full).toFixed(1)} more doublings)`
        : 'never (the line does not rise)';
    };
    const slope = (l: Log2Line) => `${l.slope >= 0 ? '+' : ''}${l.slope.toFixed(4)}`;
    // The two largest row counts alone: the local slope, less optimistic than the global line when the curve bends.
    const largest = [...new Set(pts.map((p) => p.trainRows))].sort((a, b) => b - a).slice(0, 2);
    const local = largest.length === 2 && new Set(pts.map((p) => p.trainRows)).size > 2 ? fitLog2Line(pts.filter((p) => largest.includes(p.trainRows))) : null;
    return [
      `${rows[0].data} ${t.name}: slope ${slope(line)} valid AUC per doubling of train rows (least squares over ${line.points} fracs, R² ${line.r2.toFixed(3)}). ` +
        `EXTRAPOLATION of that straight line in log2(train rows), not a measurement (AUC bends down as it nears its ceiling, so the line is optimistic): it reaches oracle − ${BAR_GAP} = ${target.toFixed(4)} at ${reach(line)}.` +
        (local ? ` The same extrapolation from the two largest row counts only (local slope ${slope(local)}): ${reach(local)}.` : ''),
    ];
  });
}

/** A data folder's notes: its sizes and oracle, bar (c) on its rows, the generator's diagnostics, the fitted lines. */
function folderNotes(dataRoot: string, rows: readonly Row[]): string[] {
  let o: FolderOracle;
  try {
    o = oracleOf(dataRoot);
  } catch (e) {
    return [`**${dataRoot}**: ${(e as Error).message}; its rows are kept as measured.`];
  }
  const { gt, oracle, diag } = o;
  const S = gt.sizes ?? {};
  const over = Object.keys(gt.sizeOverrides ?? {});
  const bestOf = (rs: readonly Row[]) => rs.reduce<Row | null>((b, r) => (b === null || Number(r['valid AUC']) > Number(b['valid AUC']) ? r : b), null);
  const isReference = (r: Row) => TABLES.find((t) => t.name === r.table)?.reference ?? true;
  // Bar (c) is about the pipeline: rows trained on the generator's hidden truth are references, never the best model.
  const best = bestOf(rows.filter((r) => !isReference(r)));
  const bestRef = bestOf(rows.filter(isReference));
  return [
    `**${dataRoot}** (${gt.scale ?? '?'} scale${over.length ? `, sizes overridden: ${over.join(', ')}` : ''}; ${S.numItems} items, ${S.numUsers} users, ` +
      `train ${S.trainRows}, valid ${S.validRows}, item_seq ${S.itemSeqRows} rows): oracle valid AUC ${oracle.toFixed(6)} (test ${gt.oracleAuc?.test?.toFixed(6) ?? '-'}), ${o.file}. ` +
      (best
        ? `Bar (c), best model (on a Task 1 table the pipeline computes) within ${BAR_GAP} of the oracle: **${oracle - Number(best['valid AUC']) <= BAR_GAP ? 'met' : 'NOT met'}** (best ${best.table} @ ${best.frac}: ${best['valid AUC']}, gap ${best['gap to oracle']}).`
        : 'Bar (c): no run of a pipeline table finished yet.') +
      (bestRef
        ? ` With the generator's true item vectors instead of a Task 1 table (a reference for the model, not a pipeline result; bar (c) does not count it): best ${bestRef.table} @ ${bestRef.frac}: ${bestRef['valid AUC']}, gap ${bestRef['gap to oracle']}${oracle - Number(bestRef['valid AUC']) <= BAR_GAP ? `, within ${BAR_GAP}` : ''}.`
        : ''),
    ...(diag.latentFromItemEmb !== undefined
      ? [`${dataRoot}: generator's diagnostic latentFromItemEmb (valid) ${diag.latentFromItemEmb.toFixed(6)}: the planted click function evaluated with item latents regressed from item_emb — an information ceiling for content-only item vectors (gap ${(oracle - diag.latentFromItemEmb).toFixed(4)} to the oracle).`]
      : []),
    ...(Object.keys(diag).length ? [`${dataRoot}: other valid diagnostics of the generator: ${Object.entries(diag).filter(([k]) => k !== 'latentFromItemEmb').map(([k, v]) => `${k} ${v}`).join(', ')}.`] : []),
    ...clusterCapNote(dataRoot, oracle),
    ...ceilingNote(dataRoot, oracle),
    ...fitNotes(rows, oracle),
    ...capNote(rows),
  ];
}

/**
 * What the fused-clusters table's communities allow at best: the planted click function with each item's community
 * replaced by its k-means cluster (true content latents and biases kept), when that table is cached for the folder.
 */
function clusterCapNote(dataRoot: string, oracle: number): string[] {
  return (['fused-clusters', 'fused-cowatch'] as const).flatMap((table) => tableCapNote(dataRoot, oracle, table));
}

function tableCapNote(dataRoot: string, oracle: number, table: 'fused-clusters' | 'fused-cowatch'): string[] {
  const dir = cacheDirOf(dataRoot);
  const [bin, described] = [path.join(dir, `${table}.f32`), path.join(dir, `${table}.txt`)];
  if (!existsSync(bin) || !existsSync(described)) return [];
  // The results are rewritten after every training: the two passes over the valid rows run once per cached table.
  const key = `${dataRoot} ${table} ${statSync(bin).mtimeMs}`;
  const known = clusterCapNotes.get(key);
  if (known) return known;
  const k = clusterKOf(readFileSync(described, 'utf8'));
  if (k === null) return [];
  const buf = readFileSync(bin);
  const cols = MICROLENS_DIMS.itemEmbDim;
  const vectors = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const rows = vectors.length / cols;
  const recomputed = plantedAuc(dataRoot);
  // With the true communities the function must be the oracle (ground_truth.json rounds it to 6 digits): otherwise
  // the reimplementation is off and a cap computed with it would mean nothing.
  if (Math.abs(recomputed - oracle) > 1e-5) {
    throw new Error(`${dataRoot}: bench/lib/plantedCeiling.ts gives ${recomputed} with the true communities, not the oracle ${oracle}`);
  }
  const capped = plantedAuc(dataRoot, { community: clustersOfTable(vectors, rows, cols, k) });
  const note = [
    `${dataRoot}: the planted click function with each item's community replaced by its ${table} ${table === 'fused-cowatch' ? 'co-watching community' : 'k-means cluster'} (k = ${k}; true content latents and biases kept): valid AUC ${capped.toFixed(4)}, ` +
      `${(oracle - capped).toFixed(4)} below the oracle (recomputed from the files: ${recomputed.toFixed(4)}). No model reading that table's community information can pass this without recovering the communities better from other columns (bench/lib/plantedCeiling.ts).`,
  ];
  clusterCapNotes.set(key, note);
  return note;
}
const clusterCapNotes = new Map<string, string[]>();

interface Ceilings {
  key: string;
  /** Ridge read-out from the data root's own item_emb_d128, fit in-sample (the generator's latentFromItemEmb). */
  itemEmb: { r2: number; trueBias: number; noBias: number; learntBias: number };
  /**
   * Ridge read-out from the top RAW_PCA_DIM principal components of the modality-balanced raw [text ‖ image] features
   * (unsupervised, all items), 2-fold: each item read through a map fit on the other half.
   */
  raw: { r2: number; trueBias: number; noBias: number; learntBias: number };
  /** True latents, bias learnt from train. */
  trueLatents: { learntBias: number; biasCorrelation: number; rowsOnlyCorrelation: number };
  seconds: number;
}

/**
 * How high a perfect model could go with content read from the item features rather than known, with the true
 * communities, and with the per-item bias given, absent, or learnt from the train rows as well as they tell it
 * (bench/lib/plantedCeiling.ts): model-free ceilings of a pipeline on this folder. Computed by `prepareCeilings`
 * before the first write and cached in the folder's cache directory.
 */
const ceilings = new Map<string, { c: Ceilings; file: string }>();

/** Computes (or reads from the cache) the ceilings of every synthetic folder the results will hold. */
async function prepareCeilings(dataRoots: readonly string[]): Promise<void> {
  for (const dataRoot of dataRoots) {
    if (ceilings.has(dataRoot) || !existsSync(path.join(dataRoot, 'oracle', 'item_truth.parquet'))) continue;
    const files = ['oracle/item_truth.parquet', 'item_feature.parquet', 'MicroLens_1M_x1/item_info.parquet', 'MicroLens_1M_x1/train.parquet', 'MicroLens_1M_x1/valid.parquet'];
    const key = [CEILINGS_VERSION, ...files.map((f) => `${f}:${statSync(path.join(dataRoot, f)).size}:${Math.round(statSync(path.join(dataRoot, f)).mtimeMs)}`)].join(',');
    const file = path.join(cacheDirOf(dataRoot), 'ceilings.json');
    let c: Ceilings | null = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Ceilings) : null;
    if (!c || c.key !== key) {
      const t0 = performance.now();
      process.stderr.write(`${dataRoot}: computing the content/bias ceilings (under a minute at small scale)\n`);
      const withLatents = (latentUnit: Float64Array, r2: number) => ({
        r2,
        trueBias: plantedAuc(dataRoot, { latentUnit }),
        noBias: plantedAuc(dataRoot, { latentUnit, bias: false }),
        learntBias: plantedAuc(dataRoot, { latentUnit, bias: estimatedBias(dataRoot, { latentUnit }).bias }),
      });
      const w = MICROLENS_DIMS.itemEmbDim;
      // Item vectors as [N × w], row i − 1 = item i (the loaders' tables have the padding row 0 first).
      const shipped = (await loadItemInfo(dataRoot)).itemEmb.data.subarray(w);
      const fromEmb = ridgeLatents(dataRoot, shipped, w);
      const inputs = await loadEmbedInputs(dataRoot, { sequences: false });
      const { table } = buildContentTable(inputs.features, ['text', 'image']);
      const stats = covariance({ data: table.data, rows: table.rows, cols: table.width });
      const raw = contentVectors(inputs, table, stats, { balance: true, dim: RAW_PCA_DIM }).vectors.subarray(RAW_PCA_DIM);
      const fromRaw = ridgeLatents(dataRoot, raw, RAW_PCA_DIM, 2);
      const learnt = estimatedBias(dataRoot);
      const fromRows = estimatedBias(dataRoot, { levels: false });
      c = {
        key,
        itemEmb: withLatents(fromEmb.latentUnit, fromEmb.r2),
        raw: withLatents(fromRaw.latentUnit, fromRaw.r2),
        trueLatents: { learntBias: plantedAuc(dataRoot, { bias: learnt.bias }), biasCorrelation: learnt.correlation, rowsOnlyCorrelation: fromRows.correlation },
        seconds: Math.round((performance.now() - t0) / 1000),
      };
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(c, null, 2)}\n`);
    }
    ceilings.set(dataRoot, { c, file });
  }
}

/** The ceilings note of a folder (see `prepareCeilings`). */
function ceilingNote(dataRoot: string, oracle: number): string[] {
  const known = ceilings.get(dataRoot);
  if (!known) return [];
  const { c, file } = known;
  const f = (x: number) => `${x.toFixed(4)} (gap ${(oracle - x).toFixed(4)})`;
  const bar = oracle - BAR_GAP;
  const best = Math.max(c.raw.learntBias, c.itemEmb.learntBias);
  return [
    `${dataRoot}: model-free ceilings of a pipeline (the planted click function with the true communities, a perfect model; bench/lib/plantedCeiling.ts, computed in ${c.seconds} s, cached in ${file}). ` +
      `Content read by ridge regression on the true latents from the shipped item_emb_d128 (in-sample, R² ${c.itemEmb.r2.toFixed(3)}): with the true per-item bias ${f(c.itemEmb.trueBias)}, without it ${f(c.itemEmb.noBias)}, with the bias learnt from the train rows ${f(c.itemEmb.learntBias)}. ` +
      `From the top ${RAW_PCA_DIM} principal components of the modality-balanced raw text ‖ image features (the project's content PCA, \`balance\`; 2-fold: no item's own latent in its read-out; R² ${c.raw.r2.toFixed(3)}): ${f(c.raw.trueBias)}, ${f(c.raw.noBias)}, ${f(c.raw.learntBias)}. ` +
      `True latents with the bias learnt: ${f(c.trueLatents.learntBias)}. The learnt bias is the MAP estimate per item from its train rows, every other input of the logit known, under a prior fit to what likes_level and popularity show of it (correlation ${c.trueLatents.biasCorrelation.toFixed(3)} with the true bias; from the train rows alone ${c.trueLatents.rowsOnlyCorrelation.toFixed(3)}): a model learns the bias from item_id and likes_level at best this well. ` +
      `Linear read-outs: one that used the topic clusters of the latents could read the content a little better. Bar (c) needs ${bar.toFixed(4)}: ${best >= bar ? `a perfect model reaches it with content read from the features (best ${best.toFixed(4)}), by a margin of ${(best - bar).toFixed(4)} that a learnt model must not lose` : `not even a perfect model reaches it with content read from the features (best ${best.toFixed(4)})`}.`,
  ];
}

/**
 * Principal components kept of the raw content for the out-of-sample read-out: the 24 latent directions and room.
 * A direct ridge fit on the 1792 raw columns with 2000 items per fold overfits instead (measured: held-out R² 0.48).
 */
const RAW_PCA_DIM = 256;
/** Bumped when what the ceilings compute changes, so that cached ones are recomputed. */
const CEILINGS_VERSION = 'v4';

/** Runs still improving at the epoch cap: their AUC is limited by optimiser steps as much as by rows. */
function capNote(rows: readonly Row[]): string[] {
  const capped = rows.filter((r) => Number(r['best epoch']) === trainConfig.epochs && String(r['AUC per epoch']).split(' / ').length === trainConfig.epochs);
  if (capped.length === 0) return [];
  return [
    `Still improving at the last allowed epoch (${trainConfig.epochs}): ${capped.map(keyOf).join('; ')}. Their AUC is capped by optimiser steps as well as by rows (fewer rows = fewer steps per epoch), so the slopes above mix the two.`,
  ];
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const backend = await selectBackend({});
  const t0 = performance.now();
  const data = await loadTrainingData(root, { seqLen: 64 });
  if (data.itemTable.emb.cols !== MICROLENS_DIMS.itemEmbDim) throw new Error(`${root}: item_emb has ${data.itemTable.emb.cols} columns, expected ${MICROLENS_DIMS.itemEmbDim}`);
  process.stderr.write(`loaded ${root} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  setProgressEnabled(false);
  const fresh: Row[] = [];
  const tableNotes: string[] = [];

  const write = () => {
    const merged = mergeRows(fresh, command, previous, { key: keyOf, selectionFlags: SELECTION_FLAGS, compare: compareRows });
    const folders = [...new Set(merged.rows.map((r) => String(r.data)))];
    writeResults({
      name: RESULTS_NAME,
      title: `Oracle gap: DIN (${preset}) valid AUC by data folder, item table and train rows`,
      command,
      rows: merged.rows,
      notes: [
        ...folders.flatMap((d) => folderNotes(d, merged.rows.filter((r) => r.data === d))),
        `Gap to oracle = the data folder's oracle valid AUC − the row's valid AUC.`,
        `Training: ${describeArgs({})} (per table as in the model column), Adam lr ${args.lr}, batch ${args['batch-size']}, at most ${args.epochs} epochs, early stop after ${args.patience} evaluation(s) without gain (the trainer's lr × 0.1 on plateau), seed ${args.seed} (model and shuffle); history 64. Train rows: the first frac·N of the stored (shuffled) train split of the row's data folder; valid: all of its valid rows (${root}: ${data.valid.rows}).`,
        `Backend: ${backend.line.replace(/^backend:\s*/, '')}. train s = wall time of train() (training + evaluation); samples/s = train rows per second of optimiser steps. Other processes shared the cores (this process at nice ${os.getPriority()}); load average (1/5/15 min) per row, and ${loadBefore} before this invocation, ${loadAverage()} at this write.`,
        ...TABLES.filter((t) => merged.rows.some((r) => r.table === t.name)).map((t) => `Table ${t.name}: ${t.description}.`),
        ...tableNotes.map((n) => `${root}: ${n}`),
        ...merged.notes,
      ],
    });
  };

  await prepareCeilings([...new Set([root, ...(previous?.rows ?? []).map((r) => String(r.data))])]);
  if (args.report) {
    write();
    return;
  }
  for (const def of tables) {
    const { table, note } = await itemTableFor(def.name, data.itemTable);
    if (note) {
      tableNotes.push(note);
      process.stderr.write(`${note}\n`);
    }
    const modelArgs: DinArgs = { ...baseArgs, ...def.modelArgs };
    for (const frac of fracs) {
      const n = Math.round(frac * data.train.rows);
      const trainSplit = headSplit(data.train, n);
      const model = createModel('din', modelArgs, table, { seed: trainConfig.seed });
      const before = loadAverage();
      process.stderr.write(`${def.name} @ ${frac} (${n} rows), load ${before}…\n`);
      const t1 = performance.now();
      const res = await train(model, { train: trainSplit, valid: data.valid, itemTable: table }, { ...trainConfig, ...def.trainArgs }, { progress: false });
      const seconds = (performance.now() - t1) / 1000;
      model.dispose();
      const auc = res.best?.valid.auc ?? NaN;
      fresh.push({
        data: root,
        table: def.name,
        frac,
        'train rows': n,
        model: describeArgs(def.modelArgs) + (def.trainArgs?.embeddingRegularizer !== undefined ? `; embedding L2 ${def.trainArgs.embeddingRegularizer}` : ''),
        'valid AUC': Number(auc.toFixed(5)),
        'best epoch': res.best?.epoch ?? '-',
        'AUC per epoch': res.history.map((h) => h.valid.auc.toFixed(4)).join(' / '),
        'gap to oracle': Number((oracle - auc).toFixed(5)),
        'train s': Math.round(seconds),
        'samples/s': Math.round(res.samplesPerSecond),
        load: `${before} → ${loadAverage()}`,
        measured: new Date().toISOString().slice(0, 16),
      });
      process.stderr.write(`  valid AUC ${auc.toFixed(4)} (best epoch ${res.best?.epoch}, ${res.epochs} epochs, ${seconds.toFixed(0)} s)\n`);
      write();
    }
  }
}

await main();
