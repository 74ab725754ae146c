/**
 * Batch iteration over an `InteractionSplit`: plain typed arrays, no tfjs (the trainer turns a batch into tensors).
 *
 * Order: file order, or with `shuffle` a permutation of the rows drawn from the stream `seed/shuffle/<epoch>`, so
 * epoch e's order depends only on (seed, e): a resumed run re-creates it from the epoch index alone, with no RNG
 * state to save. Buffers: one set of batch buffers is allocated per iterator and refilled for each batch, so a
 * yielded `Batch` is valid only until the next one is requested (copy what must outlive it).
 */
import { MmctrError } from '../errors';
import type { InteractionSplit } from './schema';
import { rng } from '../util/rng';

export interface BatchOptions {
  /** Rows per batch (the last one may be smaller unless `dropLast`). Required, a positive integer. */
  batchSize: number;
  /** Visit the rows in a seeded random order, a fresh one per epoch. Default false (file order). */
  shuffle?: boolean;
  /** Seed of the shuffle. Default 0. */
  seed?: number | string;
  /** Epoch index (0-based) choosing the permutation. Default 0. */
  epoch?: number;
  /** Drop a last batch smaller than `batchSize`. Default false (FuxiCTR's DataLoader default). */
  dropLast?: boolean;
  /** First batch to yield (skips earlier ones without filling them): resuming mid-epoch. Default 0. */
  startBatch?: number;
}

/** One batch as typed arrays, valid until the iterator yields the next batch. */
export interface Batch {
  /** Index of this batch within the epoch (0-based). */
  index: number;
  /** Rows in this batch. */
  size: number;
  /** History length (columns of `itemSeq`). */
  seqLen: number;
  /** [size] row numbers in the split. */
  rows: Int32Array;
  /** [size] */
  userId: Int32Array;
  /** [size] */
  itemId: Int32Array;
  /** [size] */
  likesLevel: Int32Array;
  /** [size] */
  viewsLevel: Int32Array;
  /** [size × seqLen], row-major, stored convention (left padding, newest rightmost). */
  itemSeq: Int32Array;
  /** [size] 0/1 as floats (what a loss takes); null when the split has no labels. */
  label: Float32Array | null;
}

export class BatchOptionError extends MmctrError {}

/** Number of batches an epoch over `rows` rows yields. */
export function batchCount(rows: number, batchSize: number, dropLast = false): number {
  checkBatchSize(batchSize);
  return dropLast ? Math.floor(rows / batchSize) : Math.ceil(rows / batchSize);
}

/** The row order of an epoch: null for file order, else a seeded permutation of 0..rows−1. */
export function epochOrder(rows: number, shuffle: boolean, seed: number | string, epoch: number): Int32Array | null {
  if (!shuffle) return null;
  return rng(seed).fork('shuffle').fork(epoch).permutation(rows);
}

/**
 * Yields the batches of one epoch. With `shuffle` the rows are gathered through the epoch's permutation; without,
 * they are copied in file order. The yielded arrays are reused: see the module comment.
 */
export function* iterateBatches(split: InteractionSplit, options: BatchOptions): Generator<Batch, void, undefined> {
  const { batchSize } = options;
  const dropLast = options.dropLast ?? false;
  const count = batchCount(split.rows, batchSize, dropLast);
  const start = options.startBatch ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > count) {
    throw new BatchOptionError(`iterateBatches: startBatch = ${start} must be an integer in 0..${count} (batches of ${split.split})`);
  }
  if (split.itemSeq.rows !== split.rows) {
    throw new BatchOptionError(`iterateBatches: ${split.split} has ${split.rows} rows but item_seq has ${split.itemSeq.rows}`);
  }
  const order = epochOrder(split.rows, options.shuffle ?? false, options.seed ?? 0, options.epoch ?? 0);
  const L = split.itemSeq.cols;
  const cap = Math.min(batchSize, split.rows);
  const buf = {
    rows: new Int32Array(cap),
    userId: new Int32Array(cap),
    itemId: new Int32Array(cap),
    likesLevel: new Int32Array(cap),
    viewsLevel: new Int32Array(cap),
    itemSeq: new Int32Array(cap * L),
    label: split.label ? new Float32Array(cap) : null,
  };
  const seq = split.itemSeq.data;
  for (let b = start; b < count; b++) {
    const from = b * batchSize;
    const size = Math.min(batchSize, split.rows - from);
    for (let i = 0; i < size; i++) {
      const r = order ? order[from + i] : from + i;
      buf.rows[i] = r;
      buf.userId[i] = split.userId[r];
      buf.itemId[i] = split.itemId[r];
      buf.likesLevel[i] = split.likesLevel[r];
      buf.viewsLevel[i] = split.viewsLevel[r];
      if (buf.label) buf.label[i] = split.label![r];
    }
    if (order) {
      for (let i = 0; i < size; i++) buf.itemSeq.set(seq.subarray(order[from + i] * L, (order[from + i] + 1) * L), i * L);
    } else {
      buf.itemSeq.set(seq.subarray(from * L, (from + size) * L));
    }
    const view = <T extends Int32Array | Float32Array>(a: T, n: number): T => (n === a.length ? a : (a.subarray(0, n) as T));
    yield {
      index: b,
      size,
      seqLen: L,
      rows: view(buf.rows, size),
      userId: view(buf.userId, size),
      itemId: view(buf.itemId, size),
      likesLevel: view(buf.likesLevel, size),
      viewsLevel: view(buf.viewsLevel, size),
      itemSeq: view(buf.itemSeq, size * L),
      label: buf.label ? view(buf.label, size) : null,
    };
  }
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new BatchOptionError(`batchSize = ${batchSize} must be a positive integer`);
  }
}
