/**
 * The synthetic generator's item ground truth (`<root>/oracle/item_truth.parquet`): topic and community of every
 * item, indexed by item id (−1 for id 0 and absent ids). Read here rather than in src/ because only checks and
 * benchmarks use it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';

export interface ItemTruthLabels {
  topic: Int32Array;
  community: Int32Array;
  numItems: number;
}

export function itemTruthFile(root: string): string {
  return path.join(root, 'oracle', 'item_truth.parquet');
}

export function hasItemTruth(root: string): boolean {
  return existsSync(itemTruthFile(root));
}

export function readItemTruth(root: string): ItemTruthLabels {
  const df = pl.readParquet(itemTruthFile(root), { columns: ['item_id', 'topic', 'community'] });
  const ids = df.getColumn('item_id').cast(pl.Int32).toTypedArray() as Int32Array;
  const topic = df.getColumn('topic').cast(pl.Int32).toTypedArray() as Int32Array;
  const community = df.getColumn('community').cast(pl.Int32).toTypedArray() as Int32Array;
  let n = 0;
  for (const id of ids) n = Math.max(n, id);
  const t = new Int32Array(n + 1).fill(-1);
  const c = new Int32Array(n + 1).fill(-1);
  ids.forEach((id, i) => {
    t[id] = topic[i];
    c[id] = community[i];
  });
  return { topic: t, community: c, numItems: n };
}
