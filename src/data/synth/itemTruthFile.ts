/**
 * Reading back the generator's item ground truth, `<root>/oracle/item_truth.parquet` (written by tables.ts
 * `itemTruth`): one reader for every consumer — the embedding notebook and benchmarks (topic and community labels
 * for retrieval), the figures (topic colours) and the oracle-gap benchmark (latents, popularity, bias).
 * Arrays are indexed by item id (length numItems + 1); ids the file does not list hold −1 (labels), NaN (numbers)
 * or zeros (latents).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';
import { MmctrError } from '../../errors';

/** The file's path under a data root. */
export function itemTruthPath(root: string): string {
  return path.join(root, 'oracle', 'item_truth.parquet');
}

/** Whether the root holds the generator's item truth (synthetic data; the real download has none). */
export function hasItemTruth(root: string): boolean {
  return existsSync(itemTruthPath(root));
}

export interface ItemTruthColumns {
  /** Largest id the arrays cover (the `numItems` asked for, else the file's largest item_id). */
  numItems: number;
  topic: Int32Array;
  community: Int32Array;
  /** Only with `numbers`. */
  popularityStd?: Float64Array;
  /** Only with `numbers`. */
  bias?: Float64Array;
  /** Only with `latent`: [numItems + 1, latentDim] row-major. */
  latent?: Float32Array;
  latentDim?: number;
}

export interface ReadItemTruthOptions {
  /** Items the arrays cover; an item_id outside 0..numItems is an error. Default: the file's largest item_id. */
  numItems?: number;
  /** Also read popularity_std and bias. Default false. */
  numbers?: boolean;
  /** Also read the content latents. Default false. */
  latent?: boolean;
}

/** Reads the file (see the header); a clear error when it is missing or an id is out of range. */
export function readItemTruth(root: string, opts: ReadItemTruthOptions = {}): ItemTruthColumns {
  const file = itemTruthPath(root);
  if (!existsSync(file)) throw new MmctrError(`${file} does not exist (item ground truth is written by mmctr synth; real data has none)`);
  const columns = ['item_id', 'topic', 'community', ...(opts.numbers ? ['popularity_std', 'bias'] : []), ...(opts.latent ? ['latent'] : [])];
  const df = pl.readParquet(file, { columns });
  const ids = df.getColumn('item_id').cast(pl.Int32).toTypedArray() as Int32Array;
  let n = opts.numItems ?? 0;
  if (opts.numItems === undefined) for (const id of ids) n = Math.max(n, id);
  ids.forEach((id, i) => {
    if (!(id >= 0 && id <= n)) throw new MmctrError(`${file}: item_id ${id} at row ${i} is outside 0..${n}`);
  });
  const byId = <T extends Int32Array | Float64Array>(values: T, empty: T): T => {
    ids.forEach((id, i) => (empty[id] = values[i]));
    return empty;
  };
  const out: ItemTruthColumns = {
    numItems: n,
    topic: byId(df.getColumn('topic').cast(pl.Int32).toTypedArray() as Int32Array, new Int32Array(n + 1).fill(-1)),
    community: byId(df.getColumn('community').cast(pl.Int32).toTypedArray() as Int32Array, new Int32Array(n + 1).fill(-1)),
  };
  if (opts.numbers) {
    out.popularityStd = byId(df.getColumn('popularity_std').cast(pl.Float64).toTypedArray() as Float64Array, new Float64Array(n + 1).fill(NaN));
    out.bias = byId(df.getColumn('bias').cast(pl.Float64).toTypedArray() as Float64Array, new Float64Array(n + 1).fill(NaN));
  }
  if (opts.latent) {
    const lists = df.getColumn('latent').toArray() as unknown as ArrayLike<number>[];
    const dim = lists.length > 0 ? lists[0].length : 0;
    const latent = new Float32Array((n + 1) * dim);
    ids.forEach((id, i) => {
      if (lists[i].length !== dim) throw new MmctrError(`${file}: latent at row ${i} has ${lists[i].length} values, row 0 has ${dim}`);
      latent.set(Array.from(lists[i]), id * dim);
    });
    out.latent = latent;
    out.latentDim = dim;
  }
  return out;
}
