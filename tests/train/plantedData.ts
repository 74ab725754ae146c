/**
 * In-memory InteractionSplits with a planted rule: the click probability rises with a per-item quality, with the
 * likes level, and when the history holds items of the target's group. A model that learns item and history
 * effects beats 0.5 AUC by a wide margin.
 */
import type { InteractionSplit } from '../../src/data/schema';

export interface PlantedOptions {
  rows: number;
  /** Items 1..numItems. Default 40. */
  numItems?: number;
  /** Users 1..numUsers. Default 150. */
  numUsers?: number;
  /** Default 6. */
  seqLen?: number;
  /** Default 3. */
  seed?: number;
  split?: InteractionSplit['split'];
  /** Labels independent of the features (nothing to learn). Default false. */
  noise?: boolean;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function plantedSplit(o: PlantedOptions): InteractionSplit {
  const numItems = o.numItems ?? 40;
  const numUsers = o.numUsers ?? 150;
  const L = o.seqLen ?? 6;
  const r = mulberry32(o.seed ?? 3);
  // Fixed per-item quality and group, independent of the split's seed.
  const q = mulberry32(99);
  const quality = Array.from({ length: numItems + 1 }, () => q() * 4 - 2);
  const group = (item: number) => item % 4;
  const n = o.rows;
  const split: InteractionSplit = {
    split: o.split ?? 'train',
    rows: n,
    userId: new Int32Array(n),
    itemId: new Int32Array(n),
    likesLevel: new Int32Array(n),
    viewsLevel: new Int32Array(n),
    itemSeq: { data: new Int32Array(n * L), rows: n, cols: L },
    label: new Uint8Array(n),
    id: null,
  };
  for (let i = 0; i < n; i++) {
    const user = 1 + Math.floor(r() * numUsers);
    const item = 1 + Math.floor(r() * numItems);
    const likes = Math.floor(r() * 10);
    split.userId[i] = user;
    split.itemId[i] = item;
    split.likesLevel[i] = likes;
    split.viewsLevel[i] = Math.floor(r() * 10);
    const len = 1 + Math.floor(r() * L);
    let sameGroup = 0;
    for (let j = L - len; j < L; j++) {
      // Users prefer the group user % 4.
      const h = r() < 0.6 ? 1 + 4 * Math.floor(r() * (numItems / 4)) + (user % 4) - 1 + 1 : 1 + Math.floor(r() * numItems);
      const id = Math.min(numItems, Math.max(1, h));
      split.itemSeq.data[i * L + j] = id;
      if (group(id) === group(item)) sameGroup++;
    }
    const logit = quality[item] + 0.3 * (likes - 4.5) + 2.5 * (sameGroup / len) - 1;
    const p = o.noise ? 0.3 : 1 / (1 + Math.exp(-logit));
    split.label![i] = r() < p ? 1 : 0;
  }
  return split;
}
