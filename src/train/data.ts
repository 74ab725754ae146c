/**
 * What a training or a prediction loads from a data root: the splits at a history length and the item table the
 * models take (item_info.parquet as an `ItemTable`).
 */
import type { InteractionSplit, ItemInfo } from '../data/schema';
import { loadItemInfo, loadSplit, type LoadOptions } from '../data/load';
import type { ItemTable } from '../models/types';
import { MmctrError } from '../errors';

/**
 * item_info → the models' `ItemTable`. `tagVocab` defaults to the largest tag id + 1 (padding 0 included); pass the
 * value a run was trained with to rebuild exactly its tag table.
 */
export function itemTableFromInfo(info: ItemInfo, tagVocab?: number): ItemTable {
  let max = 0;
  const tags = info.itemTags.data;
  for (let i = 0; i < tags.length; i++) if (tags[i] > max) max = tags[i];
  const vocab = tagVocab ?? max + 1;
  if (!Number.isInteger(vocab) || vocab <= max) {
    throw new MmctrError(`item table: tagVocab ${vocab} does not cover the largest tag id ${max} in item_info`);
  }
  return { tags: info.itemTags, emb: info.itemEmb, tagVocab: Math.max(vocab, 2) };
}

export interface TrainingData {
  train: InteractionSplit;
  valid: InteractionSplit;
  itemTable: ItemTable;
}

/** train + valid + item_info of a data root (`seqLen` newest history positions; loader checks on). */
export async function loadTrainingData(root: string, options: LoadOptions = {}): Promise<TrainingData> {
  const train = await loadSplit(root, 'train', options);
  const valid = await loadSplit(root, 'valid', options);
  const itemTable = itemTableFromInfo(await loadItemInfo(root, options));
  return { train, valid, itemTable };
}
