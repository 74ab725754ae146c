/**
 * Descriptive statistics of loaded tables (plain numbers, for `mmctr stats` and notebooks): row counts, positive
 * rate, distinct users / items / tags, and min / median / mean / max of history lengths and list sizes.
 */
import type { InteractionSplit, ItemEmbeddings, ItemFeatures, ItemInfo, ItemSequences } from './schema';

export interface Summary {
  min: number;
  median: number;
  mean: number;
  max: number;
}

/** min / median (mean of the two middle values for an even count) / mean / max; NaN everywhere when empty. */
export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) return { min: NaN, median: NaN, mean: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { min: sorted[0], median, mean: sum / n, max: sorted[n - 1] };
}

/** Distinct values of an int array (dense marks for non-negative ids, a Set otherwise). */
export function countDistinct(values: ArrayLike<number>, skipZero = false): number {
  let min = 0;
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  let count = 0;
  if (min >= 0 && max < 1 << 28) {
    const seen = new Uint8Array(max + 1);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (seen[v] === 0 && !(skipZero && v === 0)) {
        seen[v] = 1;
        count++;
      }
    }
    return count;
  }
  const set = new Set<number>();
  for (let i = 0; i < values.length; i++) if (!(skipZero && values[i] === 0)) set.add(values[i]);
  return set.size;
}

/** Non-zero entries per row of a flat [rows × cols] int matrix (history length under the mask convention id > 0). */
export function nonZeroPerRow(data: Int32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let k = 0;
    for (let c = r * cols, end = c + cols; c < end; c++) if (data[c] > 0) k++;
    out[r] = k;
  }
  return out;
}

export interface SplitStats {
  split: InteractionSplit['split'];
  rows: number;
  /** null when the split has no labels (test). */
  positives: number | null;
  positiveRate: number | null;
  users: number;
  /** Distinct target items. */
  items: number;
  /** Distinct items seen in histories. */
  historyItems: number;
  /** Non-zero positions per row, within the loaded `seqLen`. */
  historyLength: Summary;
  /** The loaded history length (cols of itemSeq). */
  seqLen: number;
}

export function splitStats(s: InteractionSplit): SplitStats {
  let positives: number | null = null;
  if (s.label !== null) {
    positives = 0;
    for (let i = 0; i < s.label.length; i++) positives += s.label[i];
  }
  return {
    split: s.split,
    rows: s.rows,
    positives,
    positiveRate: positives === null ? null : positives / Math.max(1, s.rows),
    users: countDistinct(s.userId),
    items: countDistinct(s.itemId),
    historyItems: countDistinct(s.itemSeq.data, true),
    historyLength: summarize(nonZeroPerRow(s.itemSeq.data, s.itemSeq.rows, s.itemSeq.cols)),
    seqLen: s.itemSeq.cols,
  };
}

function l2Norms(data: Float32Array, rows: number, cols: number, from = 0): Float64Array {
  const out = new Float64Array(rows - from);
  for (let r = from; r < rows; r++) {
    let s = 0;
    for (let c = r * cols, end = c + cols; c < end; c++) s += data[c] * data[c];
    out[r - from] = Math.sqrt(s);
  }
  return out;
}

export interface ItemInfoStats {
  rows: number;
  /** rows − 1 (row 0 is padding). */
  items: number;
  distinctTags: number;
  /** Non-zero tags per item (padding row excluded). */
  tagsPerItem: Summary;
  /** L2 norm of item_emb_d128 (padding row excluded). */
  embeddingNorm: Summary;
}

export function itemInfoStats(info: ItemInfo): ItemInfoStats {
  const tags = nonZeroPerRow(info.itemTags.data, info.itemTags.rows, info.itemTags.cols).subarray(1);
  return {
    rows: info.rows,
    items: info.rows - 1,
    distinctTags: countDistinct(info.itemTags.data, true),
    tagsPerItem: summarize(tags),
    embeddingNorm: summarize(l2Norms(info.itemEmb.data, info.itemEmb.rows, info.itemEmb.cols, 1)),
  };
}

export interface ItemFeatureStats {
  rows: number;
  distinctTags: number;
  tagsPerItem: Summary;
  emptyTitles: number;
  titleLength: Summary;
}

export function itemFeatureStats(f: ItemFeatures): ItemFeatureStats {
  const perItem = new Int32Array(f.rows);
  for (let r = 0; r < f.rows; r++) perItem[r] = f.tags.offsets[r + 1] - f.tags.offsets[r];
  return {
    rows: f.rows,
    distinctTags: countDistinct(f.tags.values, true),
    tagsPerItem: summarize(perItem),
    emptyTitles: f.title.filter((t) => t.trim() === '').length,
    titleLength: summarize(f.title.map((t) => t.length)),
  };
}

export interface ItemEmbeddingStats {
  rows: number;
  /** L2 norm summary per vector column. */
  norms: Record<string, Summary>;
}

export function itemEmbeddingStats(e: ItemEmbeddings): ItemEmbeddingStats {
  const norms: Record<string, Summary> = {};
  for (const [name, m] of Object.entries(e.vectors)) norms[name] = summarize(l2Norms(m.data, m.rows, m.cols));
  return { rows: e.rows, norms };
}

export interface ItemSequenceStats {
  rows: number;
  users: number;
  distinctItems: number;
  /** Non-zero ids per row. */
  length: Summary;
}

export function itemSequenceStats(s: ItemSequences): ItemSequenceStats {
  const lengths = new Int32Array(s.rows);
  for (let r = 0; r < s.rows; r++) lengths[r] = s.offsets[r + 1] - s.offsets[r];
  return { rows: s.rows, users: countDistinct(s.userId), distinctItems: countDistinct(s.values, true), length: summarize(lengths) };
}
