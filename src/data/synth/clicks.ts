/**
 * The click model: the true probability that a user with a given visible history clicks a target.
 *
 *   sim(h, x)  = wContent · cos(z_h, z_x) + wCommunity · [community(h) = community(x)]
 *   match(x)   = LME_τ over the visible history h of sim(h, x)      (log-mean-exp: a soft maximum)
 *              = τ · log( (1/n) Σ_h exp(sim(h, x) / τ) )
 *   logit      = b0 + βh · match + βp · popStd(x) + bias(x)
 *   p          = σ(logit),   label ~ Bernoulli(p)
 *
 * b0 is solved by bisection so that the mean of p over the train rows equals `positiveRate`. The function depends
 * only on what the files show (history ids, target id) and per-item constants, so a model can learn it.
 */
import type { Rng } from '../../util/rng';
import type { SynthConfig } from './config';
import type { ItemTruth } from './items';
import { visibleHistory, type RowSet } from './rows';
import type { UserTruth } from './users';

export interface RowScores {
  rows: number;
  /** The oracle's history term: LME_τ of sim over the history. */
  match: Float32Array;
  /** Mean of sim over the history (what mean pooling could see at best). */
  meanMatch: Float32Array;
  /** LME_τ of the content part of sim alone. */
  contentMatch: Float32Array;
  /** LME_τ of the community part of sim alone. */
  communityMatch: Float32Array;
  /** βp · popStd(x) + bias(x): the history-free part of the logit. */
  base: Float64Array;
}

/** Log-mean-exp of v[0..n) with temperature tau, computed stably. */
function lme(v: Float64Array, n: number, tau: number): number {
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (v[i] > mx) mx = v[i];
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp((v[i] - mx) / tau);
  return mx + tau * Math.log(s / n);
}

/**
 * Scores of every row. `zUnit` replaces the true unit latents (diagnostics: what a model that only knows an
 * estimate of them could reach); default `items.zUnit`.
 */
export function scoreRows(cfg: SynthConfig, items: ItemTruth, users: UserTruth, rows: RowSet, zUnit?: Float32Array): RowScores {
  const c = cfg.clicks;
  const D = items.latentDim;
  const zu = zUnit ?? items.zUnit;
  const n = rows.rows;
  const out: RowScores = {
    rows: n,
    match: new Float32Array(n),
    meanMatch: new Float32Array(n),
    contentMatch: new Float32Array(n),
    communityMatch: new Float32Array(n),
    base: new Float64Array(n),
  };
  const cap = cfg.users.maxSeqLen;
  const sim = new Float64Array(cap);
  const simC = new Float64Array(cap);
  const simM = new Float64Array(cap);
  for (let r = 0; r < n; r++) {
    const x = rows.target[r];
    const [a, b] = visibleHistory(users, rows.user[r], rows.prefix[r]);
    const xo = x * D;
    const cx = items.community[x];
    const len = b - a;
    let sum = 0;
    for (let k = 0; k < len; k++) {
      const h = users.seqItems[a + k];
      const ho = h * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += zu[ho + d] * zu[xo + d];
      simC[k] = c.wContent * dot;
      simM[k] = items.community[h] === cx ? c.wCommunity : 0;
      sim[k] = simC[k] + simM[k];
      sum += sim[k];
    }
    out.match[r] = lme(sim, len, c.temperature);
    out.meanMatch[r] = sum / len;
    out.contentMatch[r] = lme(simC, len, c.temperature);
    out.communityMatch[r] = lme(simM, len, c.temperature);
    out.base[r] = c.betaPopularity * items.popStd[x] + items.bias[x];
  }
  return out;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Logit without the intercept: βh · match + base. */
export function logitsWithoutIntercept(cfg: SynthConfig, s: RowScores): Float64Array {
  const out = new Float64Array(s.rows);
  for (let i = 0; i < s.rows; i++) out[i] = cfg.clicks.betaHistory * s.match[i] + s.base[i];
  return out;
}

/** b0 with mean σ(b0 + z_i) = target (bisection; the mean is increasing in b0). */
export function solveIntercept(z: Float64Array, target: number): number {
  let lo = -40;
  let hi = 40;
  for (let it = 0; it < 100 && hi - lo > 1e-12; it++) {
    const mid = (lo + hi) / 2;
    let s = 0;
    for (let i = 0; i < z.length; i++) s += sigmoid(mid + z[i]);
    if (s / z.length < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function probabilities(z: Float64Array, b0: number): Float64Array {
  const p = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) p[i] = sigmoid(b0 + z[i]);
  return p;
}

export function drawLabels(p: Float64Array, r: Rng): Uint8Array {
  const y = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) y[i] = r.uniform() < p[i] ? 1 : 0;
  return y;
}
