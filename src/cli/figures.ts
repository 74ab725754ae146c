/**
 * `mmctr figures`: rebuilds every paper figure in figures/ (`<name>.svg`, `<name>.png` at 2×) from committed
 * inputs only: bench/results/*.json and figures/data/*.json. Same inputs, same SVG bytes.
 *
 * `mmctr figures --collect --runs runs/zoo --data data/small` first (re)creates figures/data/ from trained run
 * folders and the synthetic ground truth: per run, the best weights' valid predictions reduced to a downsampled
 * ROC and calibration bins, and its per-epoch metrics; the oracle's ROC and calibration (true click probability);
 * the PCA explained variance per modality of item_feature; a 2-D PCA projection of item_emb_d128 with topics.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import pl from 'nodejs-polars';
import { MmctrError } from '../errors';
import { MICROLENS_DIMS, type InteractionSplit } from '../data/schema';
import { loadItemFeatures, loadItemInfo, loadSplit } from '../data/load';
import { hasItemTruth, itemTruthPath, readItemTruth } from '../data/synth/itemTruthFile';
import { BACKEND_NAMES, parseBackendName, selectBackend } from '../engine/backend';
import { predict } from '../eval/predict';
import { buildContentTable } from '../features/embed';
import { covariance, covarianceBlock, explainedVariance, pcaFromCovarianceStats, type CovarianceStats } from '../features/pca';
import { colBlock, type MatView } from '../linalg/matrix';
import { fitPca, type PcaModel } from '../linalg/pca';
import { createModel, isModelName, type ModelArgsMap } from '../models/registry';
import { calibrationBins, project2d, rocCurve, type CalibrationBin } from '../plots/curves';
import { closeRenderer, renderPng, renderSvg } from '../plots/export';
import {
  FIGURE_DATA_FILES,
  FigureInputs,
  selectFigures,
  type CalibrationData,
  type Embedding2dData,
  type ExplainedVarianceData,
  type FigureDataHeader,
  type RocData,
  type TrainingData,
} from '../plots/paperFigures';
import { roundTo } from '../plots/theme';
import { itemTableFromInfo } from '../train/data';
import { findRuns } from '../train/compareRuns';
import { type RunConfig, loadBestWeights, readJson, readMetrics, runPath } from '../train/runFolder';
import { writeBytesAtomic } from '../util/atomicWrite';
import { DATA_ROOT_HELP, parseDataRoot } from './validate';

export interface FiguresCommandOptions {
  /** Output folder of the figures. Default 'figures'. */
  out?: string;
  /** Folder of bench results. Default 'bench/results'. */
  results?: string;
  /** Folder of figure data. Default '<out>/data'. */
  dataDir?: string;
  /** Comma-separated figure names. Default: all. */
  only?: string;
  /** Write PNGs too (commander's --no-png sets false). Default true. */
  png?: boolean;
  /** Recreate the figure data from run folders first. Default false. */
  collect?: boolean;
  /** Run folders for --collect. Default 'runs/zoo'. */
  runs?: string;
  /** Data root for --collect (valid split, item tables, oracle/). Required with --collect. */
  data?: string;
  /** Items per topic in the 2-D projection (--collect). Default 50. */
  perTopic?: string;
  /** Rows per forward pass (--collect). Default 2048. */
  batchSize?: string;
  backend?: string;
}

/** What one figure cost and weighs. */
export interface FigureReport {
  name: string;
  svgBytes: number;
  pngBytes: number | null;
  seconds: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Renders the selected figures into `out`; returns one report per figure. */
export async function buildFigures(opts: FiguresCommandOptions): Promise<FigureReport[]> {
  const out = opts.out ?? 'figures';
  const inputs = new FigureInputs({ resultsDir: opts.results ?? path.join('bench', 'results'), dataDir: opts.dataDir ?? path.join(out, 'data') });
  const figures = selectFigures(opts.only ? opts.only.split(',').map((s) => s.trim()).filter((s) => s !== '') : []);
  const missing = [...new Set(figures.flatMap((f) => f.inputs.map((i) => inputs.pathOf(i))))].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    throw new MmctrError(`missing figure inputs: ${missing.join(', ')} (bench results come from npm run bench:*; figure data from mmctr figures --collect)`);
  }
  const specs = figures.map((f) => ({ name: f.name, figure: f.build(inputs) }));
  fs.mkdirSync(out, { recursive: true });
  const reports: FigureReport[] = [];
  try {
    for (const { name, figure } of specs) {
      const t0 = performance.now();
      const svg = await renderSvg(figure);
      writeBytesAtomic(path.join(out, `${name}.svg`), svg);
      let pngBytes: number | null = null;
      if (opts.png ?? true) {
        const png = await renderPng(figure, { scale: 2 });
        writeBytesAtomic(path.join(out, `${name}.png`), png);
        pngBytes = png.length;
      }
      reports.push({ name, svgBytes: Buffer.byteLength(svg), pngBytes, seconds: (performance.now() - t0) / 1000 });
    }
  } finally {
    await closeRenderer();
  }
  return reports;
}

// ---------------------------------------------------------------------------------------------------------------
// --collect
// ---------------------------------------------------------------------------------------------------------------

export interface CollectOptions {
  /** Folder of run folders. */
  runsDir: string;
  /** Data root (valid split, item tables, oracle/). */
  dataRoot: string;
  /** Where the figure data goes. */
  dataDir: string;
  /** Items per topic in the 2-D projection. */
  perTopic: number;
  batchSize: number;
  backend?: string;
}

/** Paths stored in the data files: relative to the working folder, '/'-separated (no machine-specific prefix). */
const rel = (p: string) => path.relative(process.cwd(), path.resolve(p)).split(path.sep).join('/') || '.';
const r5 = (v: number) => roundTo(v, 5);
const header = (source: Record<string, string>): FigureDataHeader => ({ format: 'mmctr-figure-data', version: 1, source });
const roundBins = (bins: CalibrationBin[]) => bins.map((b) => ({ meanPred: r5(b.meanPred), fracPos: r5(b.fracPos), count: b.count }));

function writeData(dir: string, file: string, value: unknown): void {
  writeBytesAtomic(path.join(dir, file), `${JSON.stringify(value)}\n`);
}

/** Valid labels and true click probabilities from `<root>/oracle/valid_truth.parquet`, in valid row order. */
function readValidTruth(root: string, rows: number): { label: Uint8Array; pTrue: Float64Array } {
  const file = path.join(root, 'oracle', 'valid_truth.parquet');
  if (!fs.existsSync(file)) throw new MmctrError(`${file} does not exist (the oracle curves need a synthetic data root)`);
  const df = pl.readParquet(file, { columns: ['row', 'label', 'p_true'] }).sort('row');
  if (df.height !== rows) throw new MmctrError(`${file}: ${df.height} rows, but the valid split has ${rows}`);
  const row = df.getColumn('row').cast(pl.Int32).toTypedArray() as Int32Array;
  row.forEach((r, i) => {
    if (r !== i) throw new MmctrError(`${file}: column row holds ${r} at position ${i}; expected 0..${rows - 1}`);
  });
  return {
    label: Uint8Array.from(df.getColumn('label').cast(pl.Int32).toTypedArray() as Int32Array),
    pTrue: df.getColumn('p_true').cast(pl.Float64).toTypedArray() as Float64Array,
  };
}

/** Topic per item id from `<root>/oracle/item_truth.parquet` (−1 for ids it does not list). */
function readTopics(root: string, numItems: number): Int32Array {
  if (!hasItemTruth(root)) throw new MmctrError(`${itemTruthPath(root)} does not exist (the 2-D projection is coloured by the synthetic topic)`);
  return readItemTruth(root, { numItems }).topic;
}

/** Per run: best weights → valid ROC + calibration; metrics.jsonl → epochs. Runs without best.ckpt are skipped. */
async function collectRuns(o: CollectOptions, labels: Uint8Array) {
  const runs = findRuns(o.runsDir);
  if (runs.length === 0) throw new MmctrError(`--runs ${o.runsDir}: no run folders (folders holding config.json) found`);
  await selectBackend(o.backend !== undefined ? { force: parseBackendName(o.backend, '--backend'), forceLabel: '--backend' } : {});
  const roc: RocData['models'] = [];
  const cal: CalibrationData['models'] = [];
  const training: TrainingData['runs'] = [];
  // Splits and item tables by history length (runs may differ).
  const splits = new Map<number, InteractionSplit>();
  const itemInfos = new Map<number, Awaited<ReturnType<typeof loadItemInfo>>>();
  for (const runDir of runs) {
    const name = path.basename(runDir);
    if (!fs.existsSync(runPath(runDir, 'best'))) {
      log(`skipped ${rel(runDir)}: no ${path.join('checkpoint', 'best.ckpt')} (training did not finish an evaluation)`);
      continue;
    }
    const config = readJson<RunConfig>(runPath(runDir, 'config'));
    if (!isModelName(config.model.name)) throw new MmctrError(`${runPath(runDir, 'config')}: unknown model ${config.model.name}`);
    const seqLen = typeof config.info.seqLen === 'number' ? config.info.seqLen : MICROLENS_DIMS.modelSeqLen;
    let valid = splits.get(seqLen);
    if (!valid) splits.set(seqLen, (valid = await loadSplit(o.dataRoot, 'valid', { seqLen })));
    let info = itemInfos.get(seqLen);
    if (!info) itemInfos.set(seqLen, (info = await loadItemInfo(o.dataRoot, { seqLen })));
    const tagVocab = (config.info.itemTable as { tagVocab?: number } | undefined)?.tagVocab;
    const modelName = config.model.name;
    const modelSeed = typeof config.info.modelSeed === 'number' ? config.info.modelSeed : config.seed;
    const model = createModel(modelName, config.model.config as ModelArgsMap[typeof modelName], itemTableFromInfo(info, tagVocab), { seed: modelSeed });
    try {
      const best = loadBestWeights(runDir, model);
      const scores = await predict(model, valid, { batchSize: o.batchSize });
      const curve = rocCurve(labels, scores);
      log(`${rel(runDir)}: best epoch ${best.epoch}, valid AUC ${curve.auc.toFixed(6)} (checkpoint says ${best.valid.auc.toFixed(6)})`);
      roc.push({ name, auc: roundTo(curve.auc, 6), fpr: curve.fpr.map(r5), tpr: curve.tpr.map(r5) });
      cal.push({ name, bins: roundBins(calibrationBins(labels, scores)) });
    } finally {
      model.dispose();
    }
    training.push({
      name,
      epochs: readMetrics(runDir).map((m) => ({
        epoch: m.epoch,
        trainLoss: r5(m.trainLoss),
        validAuc: roundTo(m.valid.auc, 6),
        validLogloss: r5(m.valid.logloss),
      })),
    });
  }
  if (roc.length === 0) throw new MmctrError(`--runs ${o.runsDir}: no run holds checkpoint/best.ckpt`);
  return { roc, cal, training };
}

/**
 * PCA explained-variance ratios of text, image and text+image (item_feature), k = 128 each (fewer with fewer
 * items). With more items than columns: one covariance of [text ‖ image] and its diagonal blocks; with fewer
 * (tiny data): src/linalg's dual PCA on the n×n Gram, far cheaper than a 1,792² eigenproblem.
 */
async function collectExplainedVariance(dataRoot: string): Promise<ExplainedVarianceData['perModality']> {
  const features = await loadItemFeatures(dataRoot);
  const { table } = buildContentTable(features, ['text', 'image']);
  const full: MatView = { data: table.data, rows: table.rows, cols: table.width };
  const parts = [
    ...table.blocks.map((b) => ({ name: b.name, view: colBlock(full, b.col0, b.dim), col0: b.col0 })),
    { name: table.blocks.map((b) => b.name).join('+'), view: full, col0: 0 },
  ];
  let st: CovarianceStats | undefined;
  return parts.map(({ name, view, col0 }) => {
    const k = Math.min(MICROLENS_DIMS.itemEmbDim, view.cols, view.rows - 1);
    let model: PcaModel;
    if (view.rows < view.cols) model = fitPca(view, { k });
    else {
      st ??= covariance(full);
      model = pcaFromCovarianceStats(view === full ? st : covarianceBlock(st, col0, view.cols), k);
    }
    const e = explainedVariance(name, model);
    return { name, dim: e.dim, ratios: e.ratio.map((r) => roundTo(r, 6)) };
  });
}

/** item_emb_d128 of every item → 2-D PCA; keeps the first `perTopic` items (by id) of each topic. */
async function collectEmbedding2d(dataRoot: string, perTopic: number): Promise<Omit<Embedding2dData, keyof FigureDataHeader>> {
  const info = await loadItemInfo(dataRoot);
  const numItems = info.rows - 1;
  const topics = readTopics(dataRoot, numItems);
  const dim = info.itemEmb.cols;
  const ids: number[] = [];
  for (let id = 1; id <= numItems; id++) if (topics[id] >= 0) ids.push(id);
  const vectors = new Float32Array(ids.length * dim);
  ids.forEach((id, r) => vectors.set(info.itemEmb.data.subarray(id * dim, (id + 1) * dim), r * dim));
  const p = project2d(vectors, dim);
  const taken = new Map<number, number>();
  const keep: number[] = [];
  ids.forEach((id, r) => {
    const t = topics[id];
    const n = taken.get(t) ?? 0;
    if (n < perTopic) {
      taken.set(t, n + 1);
      keep.push(r);
    }
  });
  return {
    title: 'item_emb_d128 by synthetic topic',
    explained: [roundTo(p.explained[0], 6), roundTo(p.explained[1], 6)],
    itemId: keep.map((r) => ids[r]),
    x: keep.map((r) => roundTo(p.x[r], 4)),
    y: keep.map((r) => roundTo(p.y[r], 4)),
    topic: keep.map((r) => topics[ids[r]]),
  };
}

/** Writes every figures/data/*.json file. */
export async function collectFigureData(o: CollectOptions): Promise<void> {
  const valid = await loadSplit(o.dataRoot, 'valid', { seqLen: 1 });
  if (!valid.label) throw new MmctrError(`${o.dataRoot}: valid.parquet has no label column`);
  const truth = readValidTruth(o.dataRoot, valid.rows);
  for (let i = 0; i < valid.rows; i++) {
    if (truth.label[i] !== valid.label[i]) throw new MmctrError(`${o.dataRoot}: oracle/valid_truth.parquet label differs from valid.parquet at row ${i}`);
  }
  const src = { runs: rel(o.runsDir), data: rel(o.dataRoot) };
  const runs = await collectRuns(o, valid.label);
  const oracleRoc = rocCurve(valid.label, truth.pTrue);
  fs.mkdirSync(o.dataDir, { recursive: true });
  const roc: RocData = {
    ...header(src),
    models: runs.roc,
    oracle: { name: 'oracle', auc: roundTo(oracleRoc.auc, 6), fpr: oracleRoc.fpr.map(r5), tpr: oracleRoc.tpr.map(r5) },
  };
  writeData(o.dataDir, FIGURE_DATA_FILES.roc, roc);
  const cal: CalibrationData = { ...header(src), models: runs.cal, oracle: { name: 'oracle', bins: roundBins(calibrationBins(valid.label, truth.pTrue)) } };
  writeData(o.dataDir, FIGURE_DATA_FILES.calibration, cal);
  const training: TrainingData = { ...header({ runs: src.runs }), runs: runs.training };
  writeData(o.dataDir, FIGURE_DATA_FILES.training, training);
  log('explained variance: PCA of item_feature text, image, text+image');
  const ev: ExplainedVarianceData = { ...header({ data: src.data }), perModality: await collectExplainedVariance(o.dataRoot) };
  writeData(o.dataDir, FIGURE_DATA_FILES.explainedVariance, ev);
  log('2-D projection of item_emb_d128');
  const emb: Embedding2dData = { ...header({ data: src.data }), ...(await collectEmbedding2d(o.dataRoot, o.perTopic)) };
  writeData(o.dataDir, FIGURE_DATA_FILES.embedding2d, emb);
}

// ---------------------------------------------------------------------------------------------------------------
// Command
// ---------------------------------------------------------------------------------------------------------------

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new MmctrError(`${flag} ${value}: expected a positive integer`);
  return n;
}

export async function runFigures(opts: FiguresCommandOptions): Promise<void> {
  const out = opts.out ?? 'figures';
  const dataDir = opts.dataDir ?? path.join(out, 'data');
  if (opts.collect) {
    const t0 = performance.now();
    await collectFigureData({
      runsDir: opts.runs ?? path.join('runs', 'zoo'),
      dataRoot: parseDataRoot(opts.data),
      dataDir,
      perTopic: positiveInt(opts.perTopic, '--per-topic', 50),
      batchSize: positiveInt(opts.batchSize, '--batch-size', 2048),
      backend: opts.backend,
    });
    log(`figure data written to ${dataDir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } else if (opts.runs !== undefined || opts.data !== undefined) {
    throw new MmctrError('--runs and --data apply to --collect');
  }
  const reports = await buildFigures({ ...opts, out, dataDir });
  for (const r of reports) {
    const png = r.pngBytes !== null ? `, ${path.join(out, `${r.name}.png`)} (${(r.pngBytes / 1024).toFixed(0)} KiB)` : '';
    process.stdout.write(`${path.join(out, `${r.name}.svg`)} (${(r.svgBytes / 1024).toFixed(0)} KiB)${png}  ${r.seconds.toFixed(2)} s\n`);
  }
}

export function register(program: Command): void {
  program
    .command('figures')
    .description('Rebuild the paper figures (figures/<name>.svg and .png at 2×) from bench/results and figures/data')
    .option('--out <dir>', 'output folder (default figures)')
    .option('--results <dir>', 'bench results folder (default bench/results)')
    .option('--data-dir <dir>', 'figure data folder (default <out>/data)')
    .option('--only <names>', 'comma-separated figure names (default: all)')
    .option('--no-png', 'write SVG only')
    .option('--collect', 'first recreate the figure data from --runs and --data (needs trained runs and a synthetic data root)', false)
    .option('--runs <dir>', 'run folders for --collect (default runs/zoo)')
    .option('--data <root>', `${DATA_ROOT_HELP}, with oracle/ (for --collect)`)
    .option('--per-topic <n>', 'items per topic in the 2-D projection (--collect, default 50)')
    .option('--batch-size <n>', 'rows per forward pass (--collect, default 2048)')
    .option('--backend <name>', `force a backend for --collect: ${BACKEND_NAMES.join(' | ')}`)
    .addHelpText(
      'after',
      [
        '',
        `Figures: ${selectFigures([]).map((f) => f.name).join(', ')}.`,
        'Chromium (Debian package chromium) renders them headless; the same inputs give the same SVG bytes.',
        '',
        'Examples:',
        '  mmctr figures                                          rebuild every figure from committed inputs',
        '  mmctr figures --collect --runs runs/zoo --data data/small   recreate figures/data from trained runs, then rebuild',
      ].join('\n'),
    )
    .action(async (opts: FiguresCommandOptions) => runFigures(opts));
}
