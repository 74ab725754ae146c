/**
 * Users: weighted interests over (topic, community) pairs, and one chronological click sequence per user drawn
 * from them. Items of one community co-occur in the sequences of the users interested in it, which is the only
 * place the community signal lives.
 */
import { AliasTable, type Rng } from '../../util/rng';
import type { Progress } from '../../util/progress';
import type { SynthConfig } from './config';
import type { ItemTruth } from './items';

/** Most interests a user can have (interest arrays are padded to it). */
export const MAX_INTERESTS = 4;

export interface UserTruth {
  /** Users 1..n (index 0 unused). */
  n: number;
  /** Interests of user u: entries [u*MAX_INTERESTS, u*MAX_INTERESTS + nInterests[u]). */
  nInterests: Uint8Array;
  interestTopic: Int32Array;
  interestCommunity: Int32Array;
  interestWeight: Float32Array;
  /** Sequence of user u, oldest first: seqItems[seqOffsets[u] .. seqOffsets[u+1]). */
  seqOffsets: Int32Array;
  seqItems: Int32Array;
}

/** Draws items for a user's interest: topic pool, community pool or global popularity. */
export class InterestSampler {
  private readonly topicPools: AliasTable[];
  private readonly communityPools: AliasTable[];
  private readonly global: AliasTable;

  constructor(
    items: ItemTruth,
    popExponent: number,
    private readonly fromTopic: number,
    private readonly fromCommunity: number,
  ) {
    const w = (ids: Int32Array) => Float64Array.from(ids, (i) => Math.pow(items.pop[i], popExponent));
    this.topicPools = items.topicItems.map((ids) => new AliasTable(w(ids), ids));
    this.communityPools = items.communityItems.map((ids) => new AliasTable(w(ids), ids));
    const all = Int32Array.from({ length: items.n }, (_, i) => i + 1);
    this.global = new AliasTable(w(all), all);
  }

  /** One item for user u (interests given by the truth arrays). */
  draw(r: Rng, users: Pick<UserTruth, 'nInterests' | 'interestTopic' | 'interestCommunity' | 'interestWeight'>, u: number): number {
    const base = u * MAX_INTERESTS;
    const k = users.nInterests[u];
    let j = 0;
    if (k > 1) {
      let x = r.uniform();
      for (j = 0; j < k - 1; j++) {
        x -= users.interestWeight[base + j];
        if (x < 0) break;
      }
    }
    const b = r.uniform();
    if (b < this.fromTopic) return this.topicPools[users.interestTopic[base + j]].draw(r);
    if (b < this.fromTopic + this.fromCommunity) return this.communityPools[users.interestCommunity[base + j]].draw(r);
    return this.global.draw(r);
  }
}

function groupTable(items: Int32Array[]): AliasTable {
  // Interests pick groups in proportion to their size, so big topics have more fans.
  return new AliasTable(items.map((ids) => ids.length));
}

/**
 * Sequence offsets of users 1..numUsers (length numUsers + 2; user u's sequence is [offsets[u], offsets[u+1])).
 * Drawn from their own stream, so they can be known (e.g. to check the sizes) before anything else is generated.
 */
export function drawSeqOffsets(cfg: SynthConfig, root: Rng): Int32Array {
  const U = cfg.sizes.numUsers;
  const p = cfg.users;
  const rLen = root.fork('users/lengths');
  const seqOffsets = new Int32Array(U + 2);
  for (let u = 1; u <= U; u++) {
    const len = Math.min(p.maxSeqLen, p.minSeqLen + Math.floor(Math.exp(p.seqLenLogMean + p.seqLenLogSd * rLen.normal())));
    seqOffsets[u + 1] = seqOffsets[u] + len;
  }
  return seqOffsets;
}

export function makeUsers(cfg: SynthConfig, items: ItemTruth, root: Rng, prog?: Progress): UserTruth {
  const U = cfg.sizes.numUsers;
  const p = cfg.users;
  const rInt = root.fork('users/interests');
  const countTable = new AliasTable(p.interestCountProbs.slice(0, MAX_INTERESTS));
  const topicTable = groupTable(items.topicItems);
  const commTable = groupTable(items.communityItems);
  const nInterests = new Uint8Array(U + 1);
  const interestTopic = new Int32Array((U + 1) * MAX_INTERESTS).fill(-1);
  const interestCommunity = new Int32Array((U + 1) * MAX_INTERESTS).fill(-1);
  const interestWeight = new Float32Array((U + 1) * MAX_INTERESTS);
  const alpha = new Float64Array(MAX_INTERESTS);
  for (let u = 1; u <= U; u++) {
    const k = 1 + countTable.draw(rInt);
    nInterests[u] = k;
    alpha.fill(p.interestConcentration);
    const w = rInt.dirichlet(alpha.subarray(0, k));
    for (let j = 0; j < k; j++) {
      interestTopic[u * MAX_INTERESTS + j] = topicTable.draw(rInt);
      interestCommunity[u * MAX_INTERESTS + j] = commTable.draw(rInt);
      interestWeight[u * MAX_INTERESTS + j] = w[j];
    }
  }
  const truth = { n: U, nInterests, interestTopic, interestCommunity, interestWeight };

  // Sequence lengths, then items.
  const seqOffsets = drawSeqOffsets(cfg, root);
  const seqItems = new Int32Array(seqOffsets[U + 1]);
  const sampler = new InterestSampler(items, p.poolPopularityExponent, p.fromTopic, p.fromCommunity);
  const rSeq = root.fork('users/sequences');
  for (let u = 1; u <= U; u++) {
    const a = seqOffsets[u];
    const b = seqOffsets[u + 1];
    for (let s = a; s < b; s++) {
      // Mostly distinct items (a user rarely re-watches): redraw repeats a few times.
      let item = sampler.draw(rSeq, truth, u);
      for (let tries = 0; tries < 10 && seqItems.subarray(a, s).includes(item); tries++) item = sampler.draw(rSeq, truth, u);
      seqItems[s] = item;
    }
    if ((u & 16383) === 0) prog?.tick(16384);
  }
  prog?.done();
  return { ...truth, seqOffsets, seqItems };
}
