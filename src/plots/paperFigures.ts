/**
 * The paper's figure set: which figures exist, what committed inputs each is drawn from, and how. Inputs are
 * plain JSON: benchmark results (`bench/results/<name>.json`, written by bench/lib/results.ts) and the figure data
 * that `mmctr figures --collect` writes from trained runs (`figures/data/<name>.json`, formats below). Nothing
 * here reads a model or a parquet file, so regenerating the figures needs only these small files and Chromium.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MmctrError } from '../errors';
import type { CalibrationBin } from './curves';
import {
  ablationFigure,
  aucBarsFigure,
  calibrationFigure,
  embedding2dFigure,
  explainedVarianceFigure,
  rocFigure,
  throughputFigure,
  trainingCurvesFigure,
  type AblationRow,
  type AucRow,
  type EpochPoint,
  type RocSeries,
  type ThroughputRow,
} from './figures';
import type { Figure } from './types';

export class FigureInputError extends MmctrError {}

// ---------------------------------------------------------------------------------------------------------------
// figures/data/*.json (written by `mmctr figures --collect`)
// ---------------------------------------------------------------------------------------------------------------

/** Stamp of every figure data file. */
export interface FigureDataHeader {
  format: 'mmctr-figure-data';
  version: 1;
  /** Where the numbers came from (run folder, data root), relative paths only. */
  source: Record<string, string>;
}

/** roc.json: downsampled ROC of each run's best weights on valid, and of the oracle's true click probability. */
export interface RocData extends FigureDataHeader {
  models: RocSeries[];
  oracle: RocSeries | null;
}

/** calibration.json: reliability bins on valid, per run (and the oracle's). */
export interface CalibrationData extends FigureDataHeader {
  models: { name: string; bins: CalibrationBin[] }[];
  oracle: { name: string; bins: CalibrationBin[] } | null;
}

/** training.json: per-epoch curves of each run (metrics.jsonl). */
export interface TrainingData extends FigureDataHeader {
  runs: { name: string; epochs: EpochPoint[] }[];
}

/** explained_variance.json: explained-variance ratio per principal axis, per modality (not cumulative). */
export interface ExplainedVarianceData extends FigureDataHeader {
  perModality: { name: string; dim: number; ratios: number[] }[];
}

/** embedding2d.json: a 2-D PCA projection of item vectors, stored as columns, with each item's topic. */
export interface Embedding2dData extends FigureDataHeader {
  title: string;
  /** Share of the variance on each of the two axes. */
  explained: [number, number];
  itemId: number[];
  x: number[];
  y: number[];
  topic: number[];
}

export const FIGURE_DATA_FILES = {
  roc: 'roc.json',
  calibration: 'calibration.json',
  training: 'training.json',
  explainedVariance: 'explained_variance.json',
  embedding2d: 'embedding2d.json',
} as const;

export type FigureDataName = keyof typeof FIGURE_DATA_FILES;

// ---------------------------------------------------------------------------------------------------------------
// bench/results/*.json
// ---------------------------------------------------------------------------------------------------------------

/** The results file of a benchmark (bench/lib/results.ts). */
export interface BenchResultsFile {
  name: string;
  title: string;
  command: string;
  rows: Record<string, string | number | boolean>[];
  notes?: string[];
}

/** Benchmark results the figures read. */
export const BENCH_RESULT_FILES = ['zoo', 'native', 'train', 'embedAblation'] as const;
export type BenchResultName = (typeof BENCH_RESULT_FILES)[number];

/** A finite number from a results cell (numbers, or numeric strings such as "0.70021"); null for "-", "", etc. */
export function numericCell(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
  return null;
}

/** Valid AUC per model and the oracle AUC, from zoo.json ("valid AUC", "gap to oracle" = oracle − AUC). */
/**
 * A zoo row's label: the model name for its standard small preset on the default data; otherwise the preset and the
 * data root's folder name are added (`din · dinMatchSmall · data-fuse`), so runs on other item tables or presets are
 * never shown as the standard model.
 */
export function zooRunLabel(r: Record<string, unknown>): string {
  const model = String(r.model);
  const parts = [model];
  const preset = r.preset === undefined ? '' : String(r.preset);
  if (preset && preset !== `${model}Small`) parts.push(preset);
  const data = /(?:^| )data (\S+)/.exec(String(r.settings ?? ''));
  if (data) parts.push(data[1].split('/').filter(Boolean).pop() ?? data[1]);
  return parts.join(' · ');
}

export function aucRowsFromZoo(zoo: BenchResultsFile): { rows: AucRow[]; oracleAuc: number | null } {
  const rows: AucRow[] = [];
  let oracleAuc: number | null = null;
  for (const r of zoo.rows) {
    const auc = numericCell(r['valid AUC']);
    if (auc === null) continue;
    rows.push({ name: zooRunLabel(r), auc });
    const gap = numericCell(r['gap to oracle']);
    if (gap !== null && oracleAuc === null) oracleAuc = auc + gap;
  }
  return { rows, oracleAuc };
}

/** Label of the PyTorch reference the speed benchmarks compare with. */
export const REFERENCE_BACKEND = 'PyTorch 1.13 CPU';

/** native.json: samples/s of the DIN-like step per shape and backend, plus the PyTorch targets per shape. */
export function throughputFromNative(native: BenchResultsFile): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  const targets = new Map<string, number>();
  for (const r of native.rows) {
    const v = numericCell(r['samples/s']);
    const model = `DIN-like ${String(r.shape)}`;
    if (v !== null && v > 0) rows.push({ model, backend: String(r.backend), samplesPerSec: v });
    const t = numericCell(r.target);
    if (t !== null && t > 0) targets.set(model, t);
  }
  for (const [model, t] of targets) rows.push({ model, backend: REFERENCE_BACKEND, samplesPerSec: t });
  return rows;
}

/** The backend a results file ran on, from its "Backend: …" note: `native-wasm`, `wasm`, … (null when unknown). */
export function backendFromNotes(notes: readonly string[] | undefined): string | null {
  const line = notes?.find((n) => /^Backend:/i.test(n));
  if (!line) return null;
  const m = line.match(/native \((\w+)/);
  if (m) return `native-${m[1]}`;
  const b = line.match(/^Backend:\s*(?:backend:\s*)?([\w-]+)/i);
  return b ? b[1] : null;
}

/** train.json: training samples/s per model preset (prediction rows excluded), plus the PyTorch references. */
export function throughputFromTrain(train: BenchResultsFile): ThroughputRow[] {
  const backend = backendFromNotes(train.notes) ?? 'tfjs';
  const rows: ThroughputRow[] = [];
  const refs: ThroughputRow[] = [];
  for (const r of train.rows) {
    const v = numericCell(r['samples/s']);
    if (v === null || v <= 0) continue;
    const model = String(r.config);
    rows.push({ model, backend, samplesPerSec: v });
    const ref = numericCell(r.reference);
    if (ref !== null && ref > 0) refs.push({ model, backend: REFERENCE_BACKEND, samplesPerSec: ref });
  }
  return [...rows, ...refs];
}

/** embedAblation.json: downstream valid AUC and retrieval p@10 per item-embedding strategy. */
export function ablationFromResults(ablation: BenchResultsFile): AblationRow[] {
  const rows: AblationRow[] = [];
  for (const r of ablation.rows) {
    const auc = numericCell(r['valid AUC']);
    if (auc === null) continue;
    const topic = numericCell(r['topic p@10']);
    const community = numericCell(r['community p@10']);
    rows.push({
      name: String(r.strategy),
      validAuc: auc,
      ...(topic !== null ? { topicP10: topic } : {}),
      ...(community !== null ? { communityP10: community } : {}),
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// The figure set
// ---------------------------------------------------------------------------------------------------------------

/** Where the inputs are. */
export interface FigureInputDirs {
  /** bench/results. */
  resultsDir: string;
  /** figures/data. */
  dataDir: string;
}

/** Reads inputs lazily, once each; says which file is missing or malformed. */
export class FigureInputs {
  private cache = new Map<string, unknown>();

  constructor(readonly dirs: FigureInputDirs) {}

  private read<T>(file: string): T {
    const hit = this.cache.get(file);
    if (hit !== undefined) return hit as T;
    if (!fs.existsSync(file)) throw new FigureInputError(`${file} does not exist`);
    let value: T;
    try {
      value = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
    } catch (err) {
      throw new FigureInputError(`${file} is not valid JSON`, { cause: err });
    }
    this.cache.set(file, value);
    return value;
  }

  bench(name: BenchResultName): BenchResultsFile {
    const file = path.join(this.dirs.resultsDir, `${name}.json`);
    const v = this.read<BenchResultsFile>(file);
    if (!Array.isArray(v.rows)) throw new FigureInputError(`${file}: no "rows" array (not a bench results file)`);
    return v;
  }

  data<K extends FigureDataName>(name: K): FigureDataOf[K] {
    const file = path.join(this.dirs.dataDir, FIGURE_DATA_FILES[name]);
    const v = this.read<FigureDataOf[K]>(file);
    if ((v as FigureDataHeader).format !== 'mmctr-figure-data') throw new FigureInputError(`${file}: not a figure data file (format ${String((v as FigureDataHeader).format)})`);
    return v;
  }

  /** Path of an input, for messages. */
  pathOf(input: FigureInput): string {
    return input.kind === 'bench' ? path.join(this.dirs.resultsDir, `${input.name}.json`) : path.join(this.dirs.dataDir, FIGURE_DATA_FILES[input.name]);
  }
}

export interface FigureDataOf {
  roc: RocData;
  calibration: CalibrationData;
  training: TrainingData;
  explainedVariance: ExplainedVarianceData;
  embedding2d: Embedding2dData;
}

export type FigureInput = { kind: 'bench'; name: BenchResultName } | { kind: 'data'; name: FigureDataName };

export interface PaperFigure {
  /** File stem under figures/: `<name>.svg`, `<name>.png`. */
  name: string;
  /** One line for listings and notebooks. */
  caption: string;
  inputs: FigureInput[];
  build(inputs: FigureInputs): Figure;
}

const bench = (name: BenchResultName): FigureInput => ({ kind: 'bench', name });
const data = (name: FigureDataName): FigureInput => ({ kind: 'data', name });

/**
 * Model order shared by every per-model figure (so a model keeps its colour): best valid AUC first, from
 * roc.json. Models absent there follow in their given order.
 */
function modelOrder(inputs: FigureInputs): string[] {
  return [...inputs.data('roc').models].sort((a, b) => b.auc - a.auc).map((m) => m.name);
}

function inOrder<T extends { name: string }>(items: readonly T[], order: readonly string[]): T[] {
  const rank = (n: string) => {
    const i = order.indexOf(n);
    return i < 0 ? order.length : i;
  };
  return items.map((item, i) => ({ item, i })).sort((a, b) => rank(a.item.name) - rank(b.item.name) || a.i - b.i).map((e) => e.item);
}

function nonEmpty<T>(what: string, file: string, rows: T[]): T[] {
  if (rows.length === 0) throw new FigureInputError(`${file}: no usable rows for ${what}`);
  return rows;
}

export const PAPER_FIGURES: readonly PaperFigure[] = [
  {
    name: 'roc',
    caption: 'ROC curves on valid of every model (best weights) and of the oracle (true click probability)',
    inputs: [data('roc')],
    build: (inp) => {
      const roc = inp.data('roc');
      return rocFigure(inOrder(roc.models, modelOrder(inp)), roc.oracle ?? undefined);
    },
  },
  {
    name: 'training_curves',
    caption: 'Train loss and valid AUC per epoch of every model',
    inputs: [data('training'), data('roc')],
    build: (inp) => trainingCurvesFigure(inOrder(inp.data('training').runs, modelOrder(inp))),
  },
  {
    name: 'auc_vs_oracle',
    caption: 'Valid AUC of every model against the oracle AUC (bench:zoo)',
    inputs: [bench('zoo')],
    build: (inp) => {
      const { rows, oracleAuc } = aucRowsFromZoo(inp.bench('zoo'));
      const file = inp.pathOf(bench('zoo'));
      if (oracleAuc === null) throw new FigureInputError(`${file}: no row holds both "valid AUC" and "gap to oracle"`);
      return aucBarsFigure(nonEmpty('AUC bars', file, rows), oracleAuc);
    },
  },
  {
    name: 'calibration',
    caption: 'Reliability of the predicted click probabilities on valid (10 equal-width bins)',
    inputs: [data('calibration'), data('roc')],
    build: (inp) => {
      const cal = inp.data('calibration');
      const curves = inOrder(cal.models, modelOrder(inp));
      return calibrationFigure(cal.oracle ? [...curves, cal.oracle] : curves);
    },
  },
  {
    name: 'explained_variance',
    caption: 'Cumulative explained variance of PCA per modality (item_feature text and image embeddings)',
    inputs: [data('explainedVariance')],
    build: (inp) => explainedVarianceFigure(inp.data('explainedVariance').perModality),
  },
  {
    name: 'item_embedding_2d',
    caption: 'Items projected to 2-D by PCA, coloured by synthetic topic',
    inputs: [data('embedding2d')],
    build: (inp) => {
      const e = inp.data('embedding2d');
      const points = e.x.map((x, i) => ({ x, y: e.y[i], label: e.topic[i] }));
      return embedding2dFigure(points, e.title);
    },
  },
  {
    name: 'throughput_backends',
    caption: 'Training samples/s of a DIN-like step per backend, with the PyTorch 1.13 CPU reference (bench:native)',
    inputs: [bench('native')],
    build: (inp) => throughputFigure(nonEmpty('throughput', inp.pathOf(bench('native')), throughputFromNative(inp.bench('native')))),
  },
  {
    name: 'throughput_models',
    caption: 'Training samples/s per model preset at batch 1024, with the PyTorch 1.13 CPU references (bench:train)',
    inputs: [bench('train')],
    build: (inp) => throughputFigure(nonEmpty('throughput', inp.pathOf(bench('train')), throughputFromTrain(inp.bench('train')))),
  },
  {
    name: 'embedding_ablation',
    caption: 'Task 1 ablation: DIN valid AUC and retrieval precision@10 per item-embedding strategy (bench:embed-ablation)',
    inputs: [bench('embedAblation')],
    build: (inp) => ablationFigure(nonEmpty('ablation', inp.pathOf(bench('embedAblation')), ablationFromResults(inp.bench('embedAblation')))),
  },
];

/** The figures named in `names` (all when empty), in PAPER_FIGURES order; unknown names are an error. */
export function selectFigures(names: readonly string[]): PaperFigure[] {
  const known = new Set(PAPER_FIGURES.map((f) => f.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new FigureInputError(`unknown figure ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  return names.length === 0 ? [...PAPER_FIGURES] : PAPER_FIGURES.filter((f) => names.includes(f.name));
}
