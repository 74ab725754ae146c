/**
 * The ground truth of a synthetic data root, as the notebooks show it next to the models: the true click
 * probability of every valid row (`oracle/valid_truth.parquet`, column `p_true`), in the split's row order.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';
import { MmctrError } from '../errors';

export interface OracleScores {
  /** 0/1 label per row. */
  labels: Uint8Array;
  /** True click probability per row. */
  pTrue: Float64Array;
}

/** Reads `<root>/oracle/<split>_truth.parquet`; null when the root is no synthetic data set (real data has no oracle). */
export function loadOracleScores(root: string, split: 'valid' | 'test' = 'valid'): OracleScores | null {
  const file = path.join(root, 'oracle', `${split}_truth.parquet`);
  if (!existsSync(file)) return null;
  const df = pl.readParquet(file, { columns: ['row', 'label', 'p_true'] }).sort('row');
  const rows = df.getColumn('row').cast(pl.Int32).toTypedArray() as Int32Array;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i] !== i) throw new MmctrError(`${file}: column row is not 0..${rows.length - 1} (row ${i} holds ${rows[i]})`);
  }
  const labels = Uint8Array.from(df.getColumn('label').cast(pl.Int32).toTypedArray() as Int32Array);
  const pTrue = Float64Array.from(df.getColumn('p_true').toTypedArray() as Float64Array);
  return { labels, pTrue };
}
