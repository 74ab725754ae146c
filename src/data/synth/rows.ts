/**
 * Rows of the interaction tables and of item_seq.parquet, as (user, prefix length t) pairs over the users'
 * sequences: the history of a row is the user's first t items (the newest `storedSeqLen` of them are stored).
 *
 * - item_seq.parquet: prefixes t ∈ [3, L_u], a uniform subset of them, in (user, t) order.
 * - train: prefixes t ∈ [3, L_u − 1] (a uniform subset, repeated when there are fewer prefixes than rows),
 *   in shuffled order.
 * - valid / test: the whole sequence t = L_u, strictly later than every train row of the same user; users are
 *   taken from a random permutation (valid first, then test), so the two sets share no user while there are
 *   enough users (otherwise further permutations follow and users get several impressions each).
 *
 * Targets: with probability `targetFromInterest` an item drawn from the user's interests, else an item drawn by
 * popularity^targetPopExponent; redrawn (up to 10 times) while it is in the visible history.
 */
import { MICROLENS_DIMS } from '../schema';
import { AliasTable, type Rng } from '../../util/rng';
import { SYNTH_SIZE_FLAGS, SynthSizeError, type SynthConfig, type SynthSizeOverrideKey, type SynthSizes } from './config';
import type { ItemTruth } from './items';
import { InterestSampler, type UserTruth } from './users';

/** Shortest history of any row (the real item_seq's minimum non-zero length). */
export const MIN_PREFIX = 3;

export interface RowSet {
  rows: number;
  user: Int32Array;
  /** Prefix length t: the history is seq[0 .. t), of which the newest `storedSeqLen` are visible. */
  prefix: Int32Array;
  /** Target item (absent for item_seq rows). */
  target: Int32Array;
  /** 1 when the target came from the user's interests, 0 when from global popularity. */
  fromInterest: Uint8Array;
}

function emptyTargets(n: number) {
  return { target: new Int32Array(n), fromInterest: new Uint8Array(n) };
}

/**
 * `count` rows over the candidates (u, t), t ∈ [MIN_PREFIX, L_u − lastOffset]: each candidate `floor(count / P)`
 * times plus a uniform subset for the remainder; in (user, t) order.
 */
export function selectPrefixRows(users: UserTruth, count: number, lastOffset: number, r: Rng): RowSet {
  const U = users.n;
  const cands = (u: number) => Math.max(0, users.seqOffsets[u + 1] - users.seqOffsets[u] - lastOffset - MIN_PREFIX + 1);
  let P = 0;
  for (let u = 1; u <= U; u++) P += cands(u);
  if (P === 0) throw new RangeError('selectPrefixRows: no user has a long enough sequence');
  const reps = Math.floor(count / P);
  const extra = r.sampleSorted(P, count - reps * P);
  const user = new Int32Array(count);
  const prefix = new Int32Array(count);
  let out = 0;
  let idx = 0;
  let e = 0;
  for (let u = 1; u <= U; u++) {
    const c = cands(u);
    for (let j = 0; j < c; j++, idx++) {
      let times = reps;
      if (e < extra.length && extra[e] === idx) {
        times++;
        e++;
      }
      for (let k = 0; k < times; k++) {
        user[out] = u;
        prefix[out] = MIN_PREFIX + j;
        out++;
      }
    }
  }
  return { rows: count, user, prefix, ...emptyTargets(count) };
}

/** Distinct prefixes t ∈ [MIN_PREFIX, L_u − lastOffset] over all users (offsets as in `UserTruth.seqOffsets`). */
export function countPrefixes(seqOffsets: Int32Array, lastOffset: number): number {
  let P = 0;
  for (let u = 1; u + 1 < seqOffsets.length; u++) P += Math.max(0, seqOffsets[u + 1] - seqOffsets[u] - lastOffset - MIN_PREFIX + 1);
  return P;
}

/**
 * Checks that overridden sizes can be supplied by the users' sequences without repeats: train rows ≤ distinct train
 * prefixes, item_seq rows ≤ distinct item_seq prefixes, valid + test rows ≤ users (disjoint evaluation users).
 * A requirement is checked only when one of its sizes is in `overridden`, so the fixed scales keep their own sizes
 * (tiny reuses prefixes and users). Throws a SynthSizeError naming the `mmctr synth` flag.
 */
export function checkRowSupply(sizes: SynthSizes, seqOffsets: Int32Array, overridden: ReadonlySet<keyof SynthSizes>, scale: string): void {
  const U = sizes.numUsers;
  const given = (k: SynthSizeOverrideKey) => (overridden.has(k) ? `${SYNTH_SIZE_FLAGS[k]} ${sizes[k]}` : `${scale}'s ${sizes[k]}`);
  const users = `${U} users (${overridden.has('numUsers') ? `${SYNTH_SIZE_FLAGS.numUsers} ${U}` : `${scale}'s`})`;
  const touched = (...ks: SynthSizeOverrideKey[]) => ks.some((k) => overridden.has(k));
  const prefixes = (key: 'trainRows' | 'itemSeqRows', lastOffset: number, what: string) => {
    if (!touched('numUsers', key)) return;
    const P = countPrefixes(seqOffsets, lastOffset);
    if (sizes[key] > P) {
      throw new SynthSizeError(key, sizes[key], P,
        `synth: ${SYNTH_SIZE_FLAGS[key]}: asked for ${sizes[key]} rows (${given(key)}), but the sequences of the ${users} ` +
          `have only ${P} distinct ${what} prefixes (t ∈ [${MIN_PREFIX}, L_u${lastOffset ? ` − ${lastOffset}` : ''}]); ` +
          `ask for at most ${P} or raise ${SYNTH_SIZE_FLAGS.numUsers}`);
    }
  };
  prefixes('trainRows', 1, 'train');
  prefixes('itemSeqRows', 0, 'item_seq');
  if (touched('numUsers', 'validRows', 'testRows')) {
    const asked = sizes.validRows + sizes.testRows;
    if (asked > U) {
      const key = overridden.has('testRows') || !overridden.has('validRows') ? 'testRows' : 'validRows';
      throw new SynthSizeError(key, asked, U,
        `synth: ${SYNTH_SIZE_FLAGS.validRows} / ${SYNTH_SIZE_FLAGS.testRows}: valid + test rows need one distinct user each ` +
          `(${given('validRows')} + ${given('testRows')} = ${asked}), but there are only ${users}; ` +
          `ask for at most ${U} valid + test rows in all or raise ${SYNTH_SIZE_FLAGS.numUsers}`);
    }
  }
}

/**
 * Evaluation rows: whole sequences of users taken from random permutations of all users (a fresh permutation for
 * each pass when more rows than users are needed), split into valid then test.
 */
export function selectEvalRows(users: UserTruth, nValid: number, nTest: number, r: Rng): { valid: RowSet; test: RowSet } {
  const U = users.n;
  const total = nValid + nTest;
  const order = new Int32Array(total);
  for (let from = 0; from < total; from += U) {
    const perm = r.permutation(U);
    order.set(perm.subarray(0, Math.min(U, total - from)), from);
  }
  const take = (from: number, n: number): RowSet => {
    const user = new Int32Array(n);
    const prefix = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const u = order[from + i] + 1;
      user[i] = u;
      prefix[i] = users.seqOffsets[u + 1] - users.seqOffsets[u];
    }
    return { rows: n, user, prefix, ...emptyTargets(n) };
  };
  return { valid: take(0, nValid), test: take(nValid, nTest) };
}

/** Shuffles the rows of a set in place (keeps the columns aligned). */
export function shuffleRows(rows: RowSet, r: Rng): void {
  const perm = r.permutation(rows.rows);
  const u = rows.user.slice();
  const t = rows.prefix.slice();
  for (let i = 0; i < rows.rows; i++) {
    rows.user[i] = u[perm[i]];
    rows.prefix[i] = t[perm[i]];
  }
}

/** Index range [from, to) of the visible history of a row in users.seqItems. */
export function visibleHistory(users: UserTruth, u: number, t: number): [number, number] {
  const start = users.seqOffsets[u];
  return [start + Math.max(0, t - MICROLENS_DIMS.storedSeqLen), start + t];
}

/** Fills `rows.target` and `rows.fromInterest`. */
export function drawTargets(cfg: SynthConfig, items: ItemTruth, users: UserTruth, rows: RowSet, r: Rng): void {
  const c = cfg.clicks;
  const sampler = new InterestSampler(items, cfg.users.poolPopularityExponent, cfg.users.fromTopic, cfg.users.fromCommunity);
  const ids = Int32Array.from({ length: items.n }, (_, i) => i + 1);
  const popular = new AliasTable(
    Float64Array.from(ids, (i) => Math.pow(items.pop[i], c.targetPopExponent)),
    ids,
  );
  for (let i = 0; i < rows.rows; i++) {
    const u = rows.user[i];
    const fromInterest = r.uniform() < c.targetFromInterest;
    const draw = () => (fromInterest ? sampler.draw(r, users, u) : popular.draw(r));
    let x = draw();
    if (c.avoidHistoryTargets) {
      const [a, b] = visibleHistory(users, u, rows.prefix[i]);
      const hist = users.seqItems.subarray(a, b);
      for (let tries = 0; tries < 10 && hist.includes(x); tries++) x = draw();
    }
    rows.target[i] = x;
    rows.fromInterest[i] = fromInterest ? 1 : 0;
  }
}
