/**
 * Plain-text tables and the small statistics the notebooks print. Everything here is deterministic text (fixed
 * decimals, no timings), so an executed notebook reproduces byte for byte.
 */
import type { ColumnKind, InteractionSplit, ItemInfo } from '../data/schema';
import { MetricError, evaluate, groupAuc, type Groups, type Labels, type Scores } from '../eval/metrics';

/** A fixed-width text table: first column left-aligned, the others right-aligned. */
export function formatTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** `x.toFixed(d)`, or '-' for null / NaN. */
export function fixed(x: number | null | undefined, d = 4): string {
  return x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d);
}

/** One row of the grader's table. */
export interface AucTableRow {
  model: string;
  auc: number;
  logloss: number;
  gauc: number | null;
  oracleAuc: number | null;
}

/** The AUC table as a grader expects it: model, valid AUC, logloss, gAUC, oracle AUC, gap (oracle − AUC), 4 decimals. */
export function formatAucTable(rows: AucTableRow[]): string {
  return formatTable(
    ['model', 'valid AUC', 'logloss', 'gAUC', 'oracle AUC', 'gap'],
    rows.map((r) => [r.model, fixed(r.auc), fixed(r.logloss), fixed(r.gauc), fixed(r.oracleAuc), r.oracleAuc === null ? '-' : fixed(r.oracleAuc - r.auc)]),
  );
}

/** Counts of integer values in buckets [edges[i], edges[i+1]); the last bucket is open-ended. */
export function bucketCounts(values: ArrayLike<number>, edges: number[]): { label: string; count: number }[] {
  const counts = new Array<number>(edges.length).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let b = -1;
    for (let k = edges.length - 1; k >= 0; k--) {
      if (v >= edges[k]) {
        b = k;
        break;
      }
    }
    if (b >= 0) counts[b]++;
  }
  return edges.map((lo, k) => ({
    label: k === edges.length - 1 ? `≥ ${lo}` : edges[k + 1] - lo === 1 ? `${lo}` : `${lo}–${edges[k + 1] - 1}`,
    count: counts[k],
  }));
}

/** Non-zero history positions per row of a split (its loaded `seqLen`). */
export function historyLengths(split: InteractionSplit): Int32Array {
  const { data, rows, cols } = split.itemSeq;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let k = 0;
    for (let c = r * cols, end = c + cols; c < end; c++) if (data[c] > 0) k++;
    out[r] = k;
  }
  return out;
}

/** Positive rate per value of an integer column (e.g. views_level deciles): value, rows, positives, rate. */
export function rateByLevel(levels: Int32Array, labels: Uint8Array): { level: number; rows: number; positives: number; rate: number }[] {
  const rows = new Map<number, { rows: number; positives: number }>();
  for (let i = 0; i < levels.length; i++) {
    const e = rows.get(levels[i]) ?? { rows: 0, positives: 0 };
    e.rows++;
    e.positives += labels[i];
    rows.set(levels[i], e);
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([level, e]) => ({ level, rows: e.rows, positives: e.positives, rate: e.positives / e.rows }));
}

/** How often each tag id occurs over the items of item_info (padding 0 excluded), most frequent first (ties by id). */
export function tagFrequencies(info: ItemInfo): { tag: number; items: number }[] {
  const counts = new Map<number, number>();
  const { data } = info.itemTags;
  for (let i = info.itemTags.cols; i < data.length; i++) if (data[i] > 0) counts.set(data[i], (counts.get(data[i]) ?? 0) + 1);
  return [...counts.entries()].map(([tag, items]) => ({ tag, items })).sort((a, b) => b.items - a.items || a.tag - b.tag);
}

/** Impressions per target item in a split, sorted descending (items never shown are left out). */
export function impressionsPerItem(split: InteractionSplit): number[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < split.rows; i++) counts.set(split.itemId[i], (counts.get(split.itemId[i]) ?? 0) + 1);
  return [...counts.values()].sort((a, b) => b - a);
}

/** Share of all impressions that go to the most shown `fraction` of the shown items (popularity concentration). */
export function topShare(sortedDesc: number[], fraction: number): number {
  const k = Math.max(1, Math.round(sortedDesc.length * fraction));
  let top = 0;
  let all = 0;
  sortedDesc.forEach((c, i) => {
    all += c;
    if (i < k) top += c;
  });
  return all === 0 ? 0 : top / all;
}

/** Renames the ids of an SVG document (`mmctr-<n>`, as src/plots writes them) to `<prefix>-<n>`, so several figures inlined in one page keep their own clip paths. */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg.replace(/(id="|#)mmctr-(\d+)/g, `$1${prefix}-$2`);
}

/** A schema column kind in words: `int`, `int[1..91717]`, `label`, `string`, `list<int>[100]`, `list<float>[128]`. */
export function formatColumnKind(k: ColumnKind): string {
  const range = (min?: number, max?: number) => (min !== undefined || max !== undefined ? ` ${min ?? ''}..${max ?? ''}` : '');
  switch (k.kind) {
    case 'int':
      return `int${range(k.min, k.max)}`;
    case 'label':
      return 'label 0/1';
    case 'string':
      return 'string';
    case 'intList':
      return `list<int>${k.length !== undefined ? `[${k.length}]` : ''}${range(k.min, k.max)}`;
    case 'floatList':
      return `list<float>[${k.length}]`;
    default: {
      const never: never = k;
      return String(never);
    }
  }
}

/** Valid metrics as the notebooks print them: gAUC is null when no user holds both labels (e.g. one valid row per user). */
export interface ValidEvaluation {
  auc: number;
  logloss: number;
  gauc: number | null;
}

/** AUC and logloss of `scores`, and gAUC by `users` where it is defined. */
export function evaluateValid(labels: Labels, scores: Scores, users: Groups): ValidEvaluation {
  const ev = evaluate(labels, scores);
  let g: number | null = null;
  try {
    g = groupAuc(labels, scores, users).gauc;
  } catch (err) {
    if (!(err instanceof MetricError)) throw err;
  }
  return { auc: ev.auc, logloss: ev.logloss, gauc: g };
}
