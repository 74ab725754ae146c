/**
 * Ensembles of trained CTR models: the members' click probabilities for the same rows, combined row by row.
 *
 *   logit (default):  p = σ( Σ_m w_m · logit(p_m) / Σ_m w_m ),  logit(p) = ln(p / (1 − p)), p clipped to [1e-7, 1 − 1e-7]
 *   prob:             p = Σ_m w_m · p_m / Σ_m w_m
 *
 * Averaging the logits is what the challenge's top teams did with their seeds and models: it keeps a member that is
 * confident at the extremes from being washed out, and for members that agree it changes nothing. Measured on
 * data/small (bench/results/ensemble.md: DIN dinMatchSmall, 5 seeds, the `communities` Task 1 table): members
 * 0.8446–0.8463 valid AUC; the mean of their logits 0.8489, of their probabilities 0.8488.
 */
import { MmctrError } from '../errors';

export const COMBINE_MODES = ['logit', 'prob'] as const;
export type CombineMode = (typeof COMBINE_MODES)[number];

/** Probabilities are clipped to [EPS, 1 − EPS] before the logit (FuxiCTR's logloss clip). */
const EPS = 1e-7;

export class EnsembleError extends MmctrError {}

export interface CombineOptions {
  /** Default 'logit'. */
  mode?: CombineMode;
  /** One non-negative weight per member, not all zero. Default equal weights. */
  weights?: readonly number[];
  /** Member names for the error messages. Default 'member 1', 'member 2', … */
  names?: readonly string[];
}

/** The weights normalised to sum 1; throws EnsembleError on a count mismatch, a negative or non-finite weight, or a zero sum. */
export function normaliseWeights(count: number, weights?: readonly number[]): Float64Array {
  if (count < 1) throw new EnsembleError('an ensemble needs at least one member');
  if (weights === undefined) return new Float64Array(count).fill(1 / count);
  if (weights.length !== count) throw new EnsembleError(`${weights.length} weights for ${count} members`);
  weights.forEach((w, m) => {
    if (!(Number.isFinite(w) && w >= 0)) throw new EnsembleError(`weight ${m + 1} is ${w}: expected a finite number ≥ 0`);
  });
  const sum = weights.reduce((s, w) => s + w, 0);
  if (!(sum > 0)) throw new EnsembleError('the weights sum to 0');
  return Float64Array.from(weights, (w) => w / sum);
}

/** The combined probability per row (see the header). Every member must give the same number of probabilities in [0, 1]. */
export function combinePredictions(members: readonly ArrayLike<number>[], opts: CombineOptions = {}): Float32Array {
  const mode = opts.mode ?? 'logit';
  if (!(COMBINE_MODES as readonly string[]).includes(mode)) throw new EnsembleError(`combine mode must be one of ${COMBINE_MODES.join(', ')}, got '${mode}'`);
  const w = normaliseWeights(members.length, opts.weights);
  const name = (m: number) => opts.names?.[m] ?? `member ${m + 1}`;
  const rows = members[0].length;
  members.forEach((p, m) => {
    if (p.length !== rows) throw new EnsembleError(`${name(m)} has ${p.length} predictions, ${name(0)} ${rows}: the members must predict the same rows`);
    for (let r = 0; r < rows; r++) {
      const v = p[r];
      if (!(v >= 0 && v <= 1)) throw new EnsembleError(`${name(m)}: prediction ${v} at row ${r} is not a probability in [0, 1]`);
    }
  });
  const acc = new Float64Array(rows);
  members.forEach((p, m) => {
    const wm = w[m];
    if (wm === 0) return;
    if (mode === 'prob') {
      for (let r = 0; r < rows; r++) acc[r] += wm * p[r];
    } else {
      for (let r = 0; r < rows; r++) {
        const q = Math.min(Math.max(p[r], EPS), 1 - EPS);
        acc[r] += wm * Math.log(q / (1 - q));
      }
    }
  });
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = mode === 'prob' ? acc[r] : 1 / (1 + Math.exp(-acc[r]));
  return out;
}
