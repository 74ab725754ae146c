/**
 * Offline CTR metrics as FuxiCTR computes them: ROC AUC (ties count one half), logloss with clipping at eps, and
 * gAUC = Σ n_u·AUC_u / Σ n_u over the users whose rows hold both labels.
 *
 * AUC is the Mann–Whitney statistic U / (P·N), U = #{(pos, neg): s_pos > s_neg} + ½·#{s_pos = s_neg}, which equals
 * the midrank formula. It is computed exactly by splitting the scores by label, sorting each part (radix sort,
 * O(n)) and walking both in one merge: no comparator callbacks, no per-row objects.
 */
import { MmctrError } from '../errors';
import { sortFloats, type FloatArray } from './sortFloats';

/** A metric was asked of inputs it is undefined for (lengths, empty, one class, non-0/1 labels, NaN scores). */
export class MetricError extends MmctrError {}

/** 0/1 labels: any numeric array (Uint8Array, Int32Array, Float32Array, number[], …) or an Int64 column's bigints. */
export type Labels = ArrayLike<number> | ArrayLike<bigint>;
/** Scores (any real numbers for AUC; probabilities in [0, 1] for logloss). NaN is refused. */
export type Scores = ArrayLike<number>;
/** One group (user) id per row: integers, e.g. an Int32Array of user_id. */
export type Groups = ArrayLike<number> | ArrayLike<bigint>;

/** Labels read once: a 0/1 byte per row and the number of ones. */
interface BinaryLabels {
  y: Uint8Array;
  positives: number;
}

/** Area under the ROC curve, exact, ties averaged. Throws MetricError when only one class is present. */
export function auc(labels: Labels, scores: Scores): number {
  const y = readLabels('auc', labels);
  const s = readScores('auc', scores, y.y.length);
  return aucOf('auc', y, s);
}

/** Mean binary cross-entropy, probabilities clipped to [eps, 1 − eps] (FuxiCTR's eps is 1e-7). */
export function logloss(labels: Labels, probs: Scores, eps = 1e-7): number {
  const y = readLabels('logloss', labels);
  const p = readScores('logloss', probs, y.y.length);
  return loglossOf('logloss', y.y, p, eps);
}

/** gAUC and how many users and rows it was computed over. */
export interface GroupAuc {
  gauc: number;
  /** Distinct group ids. */
  users: number;
  /** Users whose rows hold both labels: the ones that count. */
  usersCounted: number;
  /** Rows of the counted users (Σ n_u, the denominator). */
  rowsCounted: number;
}

/** Σ n_u·AUC_u / Σ n_u over users whose rows hold both labels. Throws MetricError when no user does. */
export function gauc(labels: Labels, scores: Scores, groups: Groups): number {
  return groupAuc(labels, scores, groups).gauc;
}

/** gAUC with its counts (see `gauc`). */
export function groupAuc(labels: Labels, scores: Scores, groups: Groups): GroupAuc {
  const y = readLabels('gauc', labels);
  const s = readScores('gauc', scores, y.y.length);
  return groupAucOf(y.y, s, readGroups('gauc', groups, y.y.length));
}

/** What the trainer and the evaluator report for one set of predictions. */
export interface Evaluation {
  auc: number;
  logloss: number;
  /** Present when groups were given. */
  gauc?: number;
  /** Rows. */
  n: number;
  /** Share of rows labelled 1. */
  positiveRate: number;
}

/** AUC, logloss (eps 1e-7) and, with `groups`, gAUC, validating the inputs once. `probs` must lie in [0, 1]. */
export function evaluate(labels: Labels, probs: Scores, groups?: Groups): Evaluation {
  const y = readLabels('evaluate', labels);
  const p = readScores('evaluate', probs, y.y.length);
  const n = y.y.length;
  const result: Evaluation = {
    auc: aucOf('evaluate', y, p),
    logloss: loglossOf('evaluate', y.y, p, 1e-7),
    n,
    positiveRate: y.positives / n,
  };
  if (groups !== undefined) result.gauc = groupAucOf(y.y, p, readGroups('evaluate', groups, n)).gauc;
  return result;
}

/** How far a model's AUC is from the oracle's (the AUC of the true click probabilities on synthetic data). */
export interface OracleGap {
  /** oracleAuc − auc (≥ 0 up to noise). */
  gap: number;
  /** (auc − 0.5) / (oracleAuc − 0.5): the share of the oracle's lift over chance the model recovers; NaN when the
   * oracle has no lift (oracleAuc ≤ 0.5). */
  liftRecovered: number;
}

export function oracleGap(auc: number, oracleAuc: number): OracleGap {
  for (const [name, v] of [['auc', auc], ['oracleAuc', oracleAuc]] as const) {
    if (!(v >= 0 && v <= 1)) throw new MetricError(`oracleGap: ${name} = ${v} is not an AUC in [0, 1]`);
  }
  return { gap: oracleAuc - auc, liftRecovered: oracleAuc > 0.5 ? (auc - 0.5) / (oracleAuc - 0.5) : NaN };
}

// ---------------------------------------------------------------------------------------------------------------
// Validation: each reads its input once, names the function and the first offending row.

function readLabels(fn: string, labels: Labels): BinaryLabels {
  const n = labels.length;
  if (n === 0) throw new MetricError(`${fn}: empty input (0 labels)`);
  const y = new Uint8Array(n);
  let positives = 0;
  if (typeof labels[0] === 'bigint') {
    // Number() rather than bigint literals: notebooks compile src/ with tslab, whose target may predate ES2020.
    const big = labels as ArrayLike<bigint>;
    for (let i = 0; i < n; i++) {
      const v = Number(big[i]);
      if (v === 1) {
        y[i] = 1;
        positives++;
      } else if (v !== 0) throw badLabel(fn, i, big[i]);
    }
  } else {
    const num = labels as ArrayLike<number>;
    for (let i = 0; i < n; i++) {
      const v = num[i];
      if (v === 1) {
        y[i] = 1;
        positives++;
      } else if (v !== 0) throw badLabel(fn, i, v);
    }
  }
  return { y, positives };
}

function badLabel(fn: string, i: number, v: unknown): MetricError {
  return new MetricError(`${fn}: labels[${i}] = ${String(v)}; labels must be 0 or 1`);
}

/** Checks the length and refuses NaN; returns a typed view (no copy for Float32Array / Float64Array). */
function readScores(fn: string, scores: Scores, n: number): FloatArray {
  if (scores.length !== n) {
    throw new MetricError(`${fn}: labels has ${n} entries but scores has ${scores.length}; they must match`);
  }
  const s = scores instanceof Float32Array || scores instanceof Float64Array ? scores : Float64Array.from(scores);
  for (let i = 0; i < n; i++) {
    if (s[i] !== s[i]) throw new MetricError(`${fn}: scores[${i}] is NaN (first NaN of ${n} scores)`);
  }
  return s;
}

/** Group ids as dense keys 0..count−1 (order of the ids is kept, which the metrics do not need). */
interface GroupKeys {
  keys: Uint32Array;
  count: number;
}

function readGroups(fn: string, groups: Groups, n: number): GroupKeys {
  if (groups.length !== n) {
    throw new MetricError(`${fn}: labels has ${n} entries but groups has ${groups.length}; they must match`);
  }
  const ids = toIntegerIds(fn, groups);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const g = ids[i];
    if (g < min) min = g;
    if (g > max) max = g;
  }
  const range = max - min + 1;
  const keys = new Uint32Array(n);
  // Dense ids (user_id 1..1M) index counters directly; sparse ones are first ranked among their distinct values.
  if (range <= 2 * n + 65536) {
    for (let i = 0; i < n; i++) keys[i] = ids[i] - min;
    return { keys, count: range };
  }
  const distinct = sortFloats(Float64Array.from(ids));
  let m = 0;
  for (let i = 0; i < n; i++) if (i === 0 || distinct[i] !== distinct[m - 1]) distinct[m++] = distinct[i];
  for (let i = 0; i < n; i++) {
    const g = ids[i];
    let lo = 0;
    let hi = m - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (distinct[mid] < g) lo = mid + 1;
      else hi = mid;
    }
    keys[i] = lo;
  }
  return { keys, count: m };
}

/** Integer typed arrays pass as they are; other inputs are checked to hold safe integers. */
function toIntegerIds(fn: string, groups: Groups): ArrayLike<number> {
  if (
    groups instanceof Int32Array ||
    groups instanceof Uint32Array ||
    groups instanceof Int16Array ||
    groups instanceof Uint16Array ||
    groups instanceof Int8Array ||
    groups instanceof Uint8Array
  ) {
    return groups;
  }
  const n = groups.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = groups[i];
    const g = typeof v === 'bigint' ? Number(v) : v;
    if (!Number.isSafeInteger(g)) throw new MetricError(`${fn}: groups[${i}] = ${String(v)} is not an integer id`);
    out[i] = g;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The metrics on validated inputs.

function aucOf(fn: string, { y, positives }: BinaryLabels, s: FloatArray): number {
  const n = y.length;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new MetricError(
      `AUC is undefined: all ${n} labels are ${positives === 0 ? 0 : 1} (${fn} needs both classes)`,
    );
  }
  // Same precision as the input: a Float32Array's values are compared as float32, so ties are kept exactly.
  const pos = s instanceof Float32Array ? new Float32Array(positives) : new Float64Array(positives);
  const neg = s instanceof Float32Array ? new Float32Array(negatives) : new Float64Array(negatives);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    if (y[i] === 1) pos[p++] = s[i];
    else neg[q++] = s[i];
  }
  const u = mannWhitneyU(sortFloats(pos), 0, positives, sortFloats(neg), 0, negatives);
  return u / (positives * negatives);
}

/**
 * U = Σ over positives of (#negatives below + ½·#negatives equal), for pos[p0..p1) and neg[q0..q1) each sorted
 * ascending. One merge walk. Exact in float64 while U < 2^52 (P·N of 10M rows is ≤ 2.5e13).
 */
function mannWhitneyU(pos: FloatArray, p0: number, p1: number, neg: FloatArray, q0: number, q1: number): number {
  let u = 0;
  let below = q0;
  for (let i = p0; i < p1; ) {
    const v = pos[i];
    let k = i + 1;
    while (k < p1 && pos[k] === v) k++;
    while (below < q1 && neg[below] < v) below++;
    let equalEnd = below;
    while (equalEnd < q1 && neg[equalEnd] === v) equalEnd++;
    u += (k - i) * (below - q0 + (equalEnd - below) * 0.5);
    i = k;
  }
  return u;
}

function loglossOf(fn: string, y: Uint8Array, p: FloatArray, eps: number): number {
  if (!(eps >= 0 && eps < 0.5)) throw new MetricError(`${fn}: eps = ${eps} must lie in [0, 0.5)`);
  const n = y.length;
  const hi = 1 - eps;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = p[i];
    if (!(v >= 0 && v <= 1)) {
      throw new MetricError(`${fn}: probs[${i}] = ${v} is outside [0, 1]; logloss needs probabilities, not logits`);
    }
    const c = v < eps ? eps : v > hi ? hi : v;
    sum -= y[i] === 1 ? Math.log(c) : Math.log(1 - c);
  }
  return sum / n;
}

function groupAucOf(y: Uint8Array, s: FloatArray, { keys, count }: GroupKeys): GroupAuc {
  const n = y.length;
  // Counting sort by group into one buffer: group g owns [start[g], start[g + 1]); its positives fill the front,
  // its negatives the back, so each user's two score lists end up contiguous without per-user arrays.
  const start = new Uint32Array(count + 1);
  const posCount = new Uint32Array(count);
  for (let i = 0; i < n; i++) {
    const g = keys[i];
    start[g + 1]++;
    posCount[g] += y[i];
  }
  for (let g = 0; g < count; g++) start[g + 1] += start[g];
  const posCursor = start.slice(0, count);
  const negCursor = start.slice(1);
  const buf = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = keys[i];
    if (y[i] === 1) buf[posCursor[g]++] = s[i];
    else buf[--negCursor[g]] = s[i];
  }

  let users = 0;
  let usersCounted = 0;
  let rowsCounted = 0;
  let weighted = 0;
  for (let g = 0; g < count; g++) {
    const a = start[g];
    const b = start[g + 1];
    if (a === b) continue;
    users++;
    const p = posCount[g];
    const rows = b - a;
    if (p === 0 || p === rows) continue;
    const mid = a + p;
    sortRange(buf, a, mid);
    sortRange(buf, mid, b);
    const u = mannWhitneyU(buf, a, mid, buf, mid, b);
    weighted += (rows * u) / (p * (rows - p));
    usersCounted++;
    rowsCounted += rows;
  }
  if (usersCounted === 0) {
    throw new MetricError(`gAUC is undefined: none of the ${users} users has rows with both labels 0 and 1`);
  }
  return { gauc: weighted / rowsCounted, users, usersCounted, rowsCounted };
}

/** Sorts buf[from..to) ascending: insertion sort for the few rows a typical user has, native sort beyond. */
function sortRange(buf: Float64Array, from: number, to: number): void {
  if (to - from > 24) {
    buf.subarray(from, to).sort();
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const v = buf[i];
    let j = i - 1;
    while (j >= from && buf[j] > v) {
      buf[j + 1] = buf[j];
      j--;
    }
    buf[j + 1] = v;
  }
}
