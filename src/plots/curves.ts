/**
 * The data side of the figures: curves computed from labels and scores (or vectors), as small plain objects that
 * a builder in figures.ts draws and figures/data/*.json stores.
 */
import { MmctrError } from '../errors';
import { fitPca, pcaTransform } from '../linalg/pca';

export class CurveError extends MmctrError {}

/** An ROC curve: (fpr, tpr) points from (0, 0) to (1, 1), thresholds decreasing. */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Score threshold of each point (score ≥ threshold counts as positive); +Infinity at (0, 0). */
  thresholds: number[];
  /** Exact area under the full curve (ties averaged: the Mann–Whitney AUC), before downsampling. */
  auc: number;
  /** Points of the exact curve before downsampling. */
  exactPoints: number;
}

/** 0/1 labels and finite scores of one length, with both classes present. */
function checkInputs(what: string, labels: ArrayLike<number>, scores: ArrayLike<number>): { pos: number; neg: number } {
  if (labels.length !== scores.length) throw new CurveError(`${what}: ${labels.length} labels but ${scores.length} scores`);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new CurveError(`${what}: label at row ${i} is ${y}, expected 0 or 1`);
    if (!Number.isFinite(scores[i])) throw new CurveError(`${what}: score at row ${i} is ${scores[i]}, expected a finite number`);
    pos += y;
  }
  return { pos, neg: labels.length - pos };
}

/**
 * The exact ROC curve (one point per distinct score, tied scores move as one step, so the trapezoid area is the
 * tie-averaged AUC), then downsampled to at most `maxPoints` points. Downsampling keeps the first and last points
 * and, in between, the first point past each of `maxPoints − 1` equal steps of path length along the curve: the
 * steep start of a good model's curve keeps as many points as its flat tail. Deterministic: same input, same points.
 */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, maxPoints = 200): RocCurve {
  if (!(Number.isInteger(maxPoints) && maxPoints >= 2)) throw new CurveError(`rocCurve: maxPoints ${maxPoints}: expected an integer ≥ 2`);
  const { pos, neg } = checkInputs('rocCurve', labels, scores);
  if (pos === 0 || neg === 0) throw new CurveError(`rocCurve: needs both classes, got ${pos} positives and ${neg} negatives`);
  const n = labels.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[b] - scores[a]);
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  let tp = 0;
  let fp = 0;
  let area = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i]];
    for (; i < n && scores[order[i]] === s; i++) {
      if (labels[order[i]] === 1) tp++;
      else fp++;
    }
    const x = fp / neg;
    const y = tp / pos;
    area += ((x - fpr[fpr.length - 1]) * (y + tpr[tpr.length - 1])) / 2;
    fpr.push(x);
    tpr.push(y);
    thresholds.push(s);
  }
  const exactPoints = fpr.length;
  const keep = downsampleByArcLength(fpr, tpr, maxPoints);
  return {
    fpr: keep.map((k) => fpr[k]),
    tpr: keep.map((k) => tpr[k]),
    thresholds: keep.map((k) => thresholds[k]),
    auc: area,
    exactPoints,
  };
}

/** Indices of at most `maxPoints` points of a polyline: the ends, and the first point past each equal arc step. */
export function downsampleByArcLength(x: number[], y: number[], maxPoints: number): number[] {
  const n = x.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const cum = new Float64Array(n);
  for (let i = 1; i < n; i++) cum[i] = cum[i - 1] + Math.hypot(x[i] - x[i - 1], y[i] - y[i - 1]);
  const total = cum[n - 1];
  const keep = [0];
  const steps = maxPoints - 1;
  let i = 1;
  for (let k = 1; k < steps; k++) {
    const target = (total * k) / steps;
    while (i < n - 1 && cum[i] < target) i++;
    if (i >= n - 1) break;
    if (i > keep[keep.length - 1]) keep.push(i);
  }
  keep.push(n - 1);
  return keep;
}

/** One bin of a reliability diagram. */
export interface CalibrationBin {
  /** Mean predicted probability of the rows in the bin. */
  meanPred: number;
  /** Share of positives among them. */
  fracPos: number;
  /** Rows in the bin. */
  count: number;
}

/**
 * Reliability bins: `bins` equal-width bins over [0, 1] (a score of exactly 1 falls in the last), each non-empty
 * bin giving its mean prediction, fraction of positives and row count, in increasing order of score.
 */
export function calibrationBins(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = 10): CalibrationBin[] {
  if (!(Number.isInteger(bins) && bins >= 1)) throw new CurveError(`calibrationBins: bins ${bins}: expected an integer ≥ 1`);
  checkInputs('calibrationBins', labels, scores);
  const sum = new Float64Array(bins);
  const posCount = new Float64Array(bins);
  const count = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const s = scores[i];
    if (s < 0 || s > 1) throw new CurveError(`calibrationBins: score at row ${i} is ${s}, expected a probability in [0, 1]`);
    const b = Math.min(bins - 1, Math.floor(s * bins));
    sum[b] += s;
    posCount[b] += labels[i];
    count[b]++;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] > 0) out.push({ meanPred: sum[b] / count[b], fracPos: posCount[b] / count[b], count: count[b] });
  }
  return out;
}

/** Rows projected onto their first two principal axes. */
export interface Projection2d {
  /** Coordinate on the first principal axis, per row. */
  x: number[];
  /** Coordinate on the second principal axis, per row. */
  y: number[];
  /** Share of the total variance along each of the two axes. */
  explained: [number, number];
}

/**
 * PCA of `vectors` (n rows × `dim`, row-major) to 2-D, through src/linalg (its sign convention makes the result
 * deterministic: the largest-magnitude loading of each axis is positive).
 */
export function project2d(vectors: Float32Array | Float64Array | number[], dim: number): Projection2d {
  if (!(Number.isInteger(dim) && dim >= 2)) throw new CurveError(`project2d: dim ${dim}: expected an integer ≥ 2`);
  if (vectors.length % dim !== 0) throw new CurveError(`project2d: ${vectors.length} values are not a whole number of rows of ${dim}`);
  const rows = vectors.length / dim;
  if (rows < 3) throw new CurveError(`project2d: needs at least 3 rows, got ${rows}`);
  const data = Array.isArray(vectors) ? Float64Array.from(vectors) : vectors;
  const view = { data, rows, cols: dim };
  const model = fitPca(view, { k: 2 });
  const p = pcaTransform(view, model); // [rows × 2] float32
  const x = new Array<number>(rows);
  const y = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    x[r] = p[2 * r];
    y[r] = p[2 * r + 1];
  }
  const total = model.totalVariance > 0 ? model.totalVariance : 1;
  return { x, y, explained: [model.explainedVariance[0] / total, model.explainedVariance[1] / total] };
}

/** Cumulative sums of explained-variance ratios (what the explained-variance figure draws). */
export function cumulative(ratios: readonly number[]): number[] {
  let s = 0;
  return ratios.map((r) => (s += r));
}
