/**
 * The synthetic generator's true item vectors as an item_emb table (bench/oracleGap.ts): what a perfect Task 1
 * would hand Task 2. Per item, in 128 coordinates:
 *   [ √wContent · z/‖z‖ (latentDim) ‖ one-hot(community) (COMMUNITY_SLOTS) ‖ popularity_std ‖ bias / itemBiasSd ‖ 0… ]
 * so that the dot product of two items' first latentDim + COMMUNITY_SLOTS coordinates is the generator's
 * similarity wContent·cos(z_h, z_x) + wCommunity·[community_h = community_x] (wContent 1.5, wCommunity 1 on
 * data/small), and the last two carry the target's popularity and bias terms at unit scale.
 *
 * The file is read by the project's one reader (src/data/synth/itemTruthFile.ts), with latents and numbers.
 */
import { readItemTruth } from '../../src/data/synth/itemTruthFile';

/** Coordinates reserved for the community one-hot (communities 0..63). */
export const COMMUNITY_SLOTS = 64;
/** √wContent of the generator's click model (wContent = 1.5). */
export const LATENT_SCALE = Math.sqrt(1.5);
/** The generator's item bias standard deviation (config.items.itemBiasSd = 0.3): bias / 0.3 has unit scale. */
export const BIAS_SD = 0.3;

/** One item of oracle/item_truth.parquet. */
export interface TruthItem {
  itemId: number;
  /** The item's latent vector z (any norm; it is unit-normalised). */
  latent: ArrayLike<number>;
  community: number;
  popularityStd: number;
  bias: number;
}

/** Reads every item of `<root>/oracle/item_truth.parquet` (synthetic data only). */
export function readTruthItems(root: string): TruthItem[] {
  const t = readItemTruth(root, { numbers: true, latent: true });
  const D = t.latentDim!;
  const items: TruthItem[] = [];
  for (let id = 0; id <= t.numItems; id++) {
    if (t.community[id] < 0) continue; // not listed (row 0)
    items.push({ itemId: id, latent: t.latent!.subarray(id * D, (id + 1) * D), community: t.community[id], popularityStd: t.popularityStd![id], bias: t.bias![id] });
  }
  return items;
}

/** [rows × dim] float32 item table (row = item id; rows of ids not listed stay zero) laid out as the header says. */
export function truthItemTable(items: readonly TruthItem[], rows: number, dim = 128): Float32Array {
  const out = new Float32Array(rows * dim);
  for (const it of items) {
    const L = it.latent.length;
    const popAt = L + COMMUNITY_SLOTS;
    if (popAt + 2 > dim) throw new RangeError(`truthItemTable: latent ${L} + ${COMMUNITY_SLOTS} communities + 2 do not fit in ${dim} coordinates`);
    if (!(it.itemId >= 0 && it.itemId < rows)) throw new RangeError(`truthItemTable: item_id ${it.itemId} outside the table's 0..${rows - 1}`);
    if (!(it.community >= 0 && it.community < COMMUNITY_SLOTS)) throw new RangeError(`truthItemTable: item ${it.itemId} community ${it.community} outside 0..${COMMUNITY_SLOTS - 1}`);
    let norm = 0;
    for (let j = 0; j < L; j++) norm += it.latent[j] ** 2;
    norm = Math.sqrt(norm);
    const o = it.itemId * dim;
    for (let j = 0; j < L; j++) out[o + j] = (LATENT_SCALE * it.latent[j]) / norm;
    out[o + L + it.community] = 1;
    out[o + popAt] = it.popularityStd;
    out[o + popAt + 1] = it.bias / BIAS_SD;
  }
  return out;
}
