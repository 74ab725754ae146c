/**
 * Synthetic training inputs at full MicroLens scale for the training benchmarks (bench/train.ts,
 * bench/profileStep.ts): a random item table of 91,718 rows and labelled splits with left-padded histories.
 */
import type { InteractionSplit } from '../../src/data/schema';
import { MICROLENS_DIMS, MICROLENS_VOCAB } from '../../src/data/schema';
import type { ItemTable } from '../../src/models/types';
import { mulberry32 } from './benchUtil';

export const ITEM_ROWS = MICROLENS_VOCAB.numItems + 1; // 91,718 incl. padding row 0
export const TAG_VOCAB = MICROLENS_VOCAB.numTags + 1; // 11,740 incl. padding 0
export const TAGS = MICROLENS_DIMS.itemInfoTags;
export const EMB_DIM = MICROLENS_DIMS.itemEmbDim;

/** A full-size random item table: 1–5 tags per item (left-padded), N(0, 1)-ish 128-d vectors. */
export function randomItemTable(seed: number): ItemTable {
  const r = mulberry32(seed);
  const tags = new Int32Array(ITEM_ROWS * TAGS);
  for (let i = 1; i < ITEM_ROWS; i++) {
    const n = 1 + Math.floor(r() * TAGS);
    for (let j = TAGS - n; j < TAGS; j++) tags[i * TAGS + j] = 1 + Math.floor(r() * (TAG_VOCAB - 1));
  }
  const emb = new Float32Array(ITEM_ROWS * EMB_DIM);
  for (let i = EMB_DIM; i < emb.length; i++) emb[i] = (r() + r() + r() - 1.5) * 2;
  return { tags: { data: tags, rows: ITEM_ROWS, cols: TAGS }, emb: { data: emb, rows: ITEM_ROWS, cols: EMB_DIM }, tagVocab: TAG_VOCAB };
}

/** Valid history items of a row: 80 % 3–20, 15 % 21–L, 5 % 0–2 (the real data is short-history heavy). */
export function historyLength(r: () => number, L: number): number {
  const u = r();
  if (u < 0.8) return Math.min(L, 3 + Math.floor(r() * 18));
  if (u < 0.95) return Math.min(L, 21 + Math.floor(r() * Math.max(1, L - 20)));
  return Math.floor(r() * 3);
}

/** A labelled synthetic split of `rows` rows at history length `L` (left-padded, newest rightmost). */
export function randomSplit(rows: number, L: number, seed: number): InteractionSplit {
  const r = mulberry32(seed);
  const itemId = new Int32Array(rows);
  const likesLevel = new Int32Array(rows);
  const viewsLevel = new Int32Array(rows);
  const userId = new Int32Array(rows);
  const label = new Uint8Array(rows);
  const seq = new Int32Array(rows * L);
  for (let i = 0; i < rows; i++) {
    itemId[i] = 1 + Math.floor(r() * (ITEM_ROWS - 1));
    likesLevel[i] = Math.floor(r() * MICROLENS_VOCAB.numLevels);
    viewsLevel[i] = Math.floor(r() * MICROLENS_VOCAB.numLevels);
    userId[i] = 1 + i;
    label[i] = r() < 0.3 ? 1 : 0;
    const n = historyLength(r, L);
    for (let j = L - n; j < L; j++) seq[i * L + j] = 1 + Math.floor(r() * (ITEM_ROWS - 1));
  }
  return { split: 'valid', rows, userId, itemId, likesLevel, viewsLevel, itemSeq: { data: seq, rows, cols: L }, label, id: null };
}

