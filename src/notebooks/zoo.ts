/**
 * What `04_model_zoo.ipynb` needs beyond src/models and src/train, kept here so its cells stay short: which models
 * train on a capped number of train rows at each scale (the ones too slow on 2 CPU cores for the notebook's time
 * budget), the seeded row sample they train on, and the comparison table (fixed decimals, no timings).
 */
import { MmctrError } from '../errors';
import type { InteractionSplit } from '../data/schema';
import type { ModelName } from '../models/types';
import { rng } from '../util/rng';
import type { NotebookScale } from './context';
import { fixed } from './report';

/**
 * Train rows at most per model and scale. transformerDcn (self-attention over the history, then DCN-V2) trains at
 * ~200 samples/s on 2 cores, i.e. ~13 min per epoch of data/small: it sees a seeded sample of the train split
 * instead (same epochs, same valid rows), so the notebook stays within ~10 min. Models not listed see every row.
 */
export const ZOO_ROW_CAPS: Readonly<Record<NotebookScale, Readonly<Partial<Record<ModelName, number>>>>> = Object.freeze({
  tiny: Object.freeze({ transformerDcn: 1000 }),
  small: Object.freeze({ transformerDcn: 10000 }),
});

/**
 * `rows` rows of a split, a seeded uniform sample kept in the split's order (every column sliced alike); the split
 * itself when it has no more rows than that.
 */
export function sampleRows(split: InteractionSplit, rows: number, seed: string | number): InteractionSplit {
  if (!Number.isInteger(rows) || rows < 1) throw new MmctrError(`sampleRows: rows ${rows}: expected a positive integer`);
  if (rows >= split.rows) return split;
  const idx = rng(seed).sampleSorted(split.rows, rows);
  const pick = <T extends Int32Array | Uint8Array>(a: T): T => {
    const out = new (a.constructor as new (n: number) => T)(rows);
    idx.forEach((r, i) => (out[i] = a[r]));
    return out;
  };
  const cols = split.itemSeq.cols;
  const seq = new Int32Array(rows * cols);
  idx.forEach((r, i) => seq.set(split.itemSeq.data.subarray(r * cols, (r + 1) * cols), i * cols));
  return {
    split: split.split,
    rows,
    userId: pick(split.userId),
    itemId: pick(split.itemId),
    likesLevel: pick(split.likesLevel),
    viewsLevel: pick(split.viewsLevel),
    itemSeq: { data: seq, rows, cols },
    label: split.label ? pick(split.label) : null,
    id: split.id ? pick(split.id) : null,
  };
}

/** One trained model of the zoo, as the table shows it. */
export interface ZooRow {
  model: string;
  preset: string;
  params: number;
  /** Train rows it trained on. */
  trainRows: number;
  /** Whether `trainRows` is a cap below the split's rows. */
  capped: boolean;
  /** Epoch of the best weights, and epochs run. */
  bestEpoch: number | null;
  epochs: number;
  /** Valid metrics of the best weights. */
  auc: number;
  logloss: number;
  /** null where no user has both labels in valid. */
  gauc: number | null;
  /** Valid oracle AUC; null on real data. */
  oracleAuc: number | null;
}

/**
 * The zoo table, best valid AUC first: model, preset, parameters, train rows (`*` = capped), best/epochs, valid AUC,
 * logloss, gAUC, gap to the oracle (oracle − AUC), 4 decimals. Names left-aligned, numbers right-aligned. No
 * timings, so an executed notebook reproduces.
 */
export function formatZooTable(rows: ZooRow[]): string {
  const sorted = [...rows].sort((a, b) => b.auc - a.auc || a.model.localeCompare(b.model));
  const head = ['model', 'preset', 'params', 'train rows', 'best/epochs', 'valid AUC', 'logloss', 'gAUC', 'gap to oracle'];
  const body = sorted.map((r) => [
    r.model,
    r.preset,
    r.params.toLocaleString('en-US'),
    `${r.trainRows.toLocaleString('en-US')}${r.capped ? '*' : ' '}`,
    `${r.bestEpoch ?? '-'}/${r.epochs}`,
    fixed(r.auc),
    fixed(r.logloss),
    fixed(r.gauc),
    r.oracleAuc === null ? '-' : fixed(r.oracleAuc - r.auc),
  ]);
  return alignedTable(head, body, 2);
}

/** A fixed-width text table whose first `textColumns` columns are left-aligned and the rest right-aligned. */
export function alignedTable(head: string[], rows: string[][], textColumns: number): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}
