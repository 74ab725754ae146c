/**
 * Learning curves of a model against the number of train rows (bench/oracleGap.ts): the first n rows of a split,
 * and a least-squares line of valid AUC against log2(train rows) with the row count at which that line would
 * reach a target AUC. The line is an extrapolation device, not a law: AUC saturates, so a straight line in
 * log2(rows) is optimistic about how few rows reach a target far above the measured points.
 */
import type { InteractionSplit } from '../../src/data/schema';

/** The first `n` rows of a split as views (no copy). Train rows are stored shuffled, so they are a uniform subset. */
export function headSplit(s: InteractionSplit, n: number): InteractionSplit {
  if (!Number.isInteger(n) || n < 1 || n > s.rows) throw new RangeError(`headSplit: ${n} rows asked of a ${s.split} split of ${s.rows}`);
  if (n === s.rows) return s;
  const L = s.itemSeq.cols;
  return {
    ...s,
    rows: n,
    userId: s.userId.subarray(0, n),
    itemId: s.itemId.subarray(0, n),
    likesLevel: s.likesLevel.subarray(0, n),
    viewsLevel: s.viewsLevel.subarray(0, n),
    label: s.label ? s.label.subarray(0, n) : null,
    id: s.id ? s.id.subarray(0, n) : null,
    itemSeq: { ...s.itemSeq, rows: n, data: s.itemSeq.data.subarray(0, n * L) },
  };
}

/** One measured point of a learning curve. */
export interface CurvePoint {
  trainRows: number;
  auc: number;
}

/** auc ≈ intercept + slope · log2(trainRows). */
export interface Log2Line {
  /** AUC gained per doubling of the train rows. */
  slope: number;
  /** AUC of the line at one train row (log2 = 0). */
  intercept: number;
  /** Points fitted. */
  points: number;
  /** Coefficient of determination over the fitted points (1 with two points). */
  r2: number;
}

/** Least-squares line of AUC against log2(train rows); null with fewer than two distinct row counts. */
export function fitLog2Line(points: readonly CurvePoint[]): Log2Line | null {
  const xs = points.map((p) => Math.log2(p.trainRows));
  const ys = points.map((p) => p.auc);
  const n = xs.length;
  if (new Set(xs).size < 2) return null;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const sse = ys.reduce((s, y, i) => s + (y - (intercept + slope * xs[i])) ** 2, 0);
  return { slope, intercept, points: n, r2: syy === 0 ? 1 : 1 - sse / syy };
}

/**
 * Train rows at which the line reaches `targetAuc`: 2^((target − intercept) / slope). Infinity when more rows do
 * not raise the line (slope ≤ 0).
 */
export function rowsAtAuc(line: Log2Line, targetAuc: number): number {
  if (line.slope <= 0) return Infinity;
  return 2 ** ((targetAuc - line.intercept) / line.slope);
}
