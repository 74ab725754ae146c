import { describe, expect, it } from 'vitest';
import { batchCount, epochOrder, iterateBatches, type Batch } from '../../src/data/batches';
import type { InteractionSplit } from '../../src/data/schema';

/** Row r holds r in every column (itemSeq row r = [r·10, r·10+1, r·10+2]), so a batch shows which rows it took. */
function split(rows: number, labels = true): InteractionSplit {
  const L = 3;
  const seq = new Int32Array(rows * L);
  for (let r = 0; r < rows; r++) for (let j = 0; j < L; j++) seq[r * L + j] = r * 10 + j;
  const ids = Int32Array.from({ length: rows }, (_, r) => r);
  return {
    split: 'train',
    rows,
    userId: ids.map((r) => r + 1000),
    itemId: ids.slice(),
    likesLevel: ids.map((r) => r % 10),
    viewsLevel: ids.map((r) => (r * 3) % 10),
    itemSeq: { data: seq, rows, cols: L },
    label: labels ? Uint8Array.from({ length: rows }, (_, r) => r % 2) : null,
    id: null,
  };
}

/** Copies a batch (its arrays are reused by the next one). */
function copy(b: Batch) {
  return {
    index: b.index,
    size: b.size,
    rows: Array.from(b.rows),
    userId: Array.from(b.userId),
    itemId: Array.from(b.itemId),
    likes: Array.from(b.likesLevel),
    views: Array.from(b.viewsLevel),
    seq: Array.from(b.itemSeq),
    label: b.label ? Array.from(b.label) : null,
  };
}

/** Copies each batch while iterating (spreading the generator first would see only the last fill). */
function collect(gen: Iterable<Batch>) {
  const out: ReturnType<typeof copy>[] = [];
  for (const b of gen) out.push(copy(b));
  return out;
}

function checkRowsConsistent(b: ReturnType<typeof copy>) {
  b.rows.forEach((r, i) => {
    expect(b.itemId[i]).toBe(r);
    expect(b.userId[i]).toBe(r + 1000);
    expect(b.likes[i]).toBe(r % 10);
    expect(b.views[i]).toBe((r * 3) % 10);
    expect(b.seq.slice(i * 3, i * 3 + 3)).toEqual([r * 10, r * 10 + 1, r * 10 + 2]);
    if (b.label) expect(b.label[i]).toBe(r % 2);
  });
}

describe('batchCount', () => {
  it('counts a last partial batch unless dropLast', () => {
    expect(batchCount(10, 4)).toBe(3);
    expect(batchCount(10, 4, true)).toBe(2);
    expect(batchCount(8, 4)).toBe(2);
    expect(batchCount(8, 4, true)).toBe(2);
    expect(batchCount(3, 4, true)).toBe(0);
  });
  it('refuses a non-positive batch size', () => {
    expect(() => batchCount(10, 0)).toThrow(/batchSize = 0/);
    expect(() => batchCount(10, 2.5)).toThrow(/batchSize/);
  });
});

describe('iterateBatches', () => {
  it('file order: consecutive rows, a smaller last batch, every column from the same row', () => {
    const batches = collect(iterateBatches(split(10), { batchSize: 4 }));
    expect(batches.map((b) => b.size)).toEqual([4, 4, 2]);
    expect(batches.map((b) => b.rows)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    batches.forEach(checkRowsConsistent);
    expect(batches[2].label).toEqual([0, 1]);
  });

  it('dropLast drops the partial batch', () => {
    const batches = collect(iterateBatches(split(10), { batchSize: 4, dropLast: true }));
    expect(batches.map((b) => b.size)).toEqual([4, 4]);
  });

  it('shuffle: each epoch is a permutation of all rows, fixed by (seed, epoch)', () => {
    const s = split(50);
    const rowsOf = (seed: number, epoch: number) => collect(iterateBatches(s, { batchSize: 8, shuffle: true, seed, epoch })).flatMap((b) => {
      checkRowsConsistent(b);
      return b.rows;
    });
    const e0 = rowsOf(7, 0);
    expect([...e0].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(e0).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(rowsOf(7, 0)).toEqual(e0);
    expect(rowsOf(7, 1)).not.toEqual(e0);
    expect(rowsOf(8, 0)).not.toEqual(e0);
    expect(Array.from(epochOrder(50, true, 7, 0)!)).toEqual(e0);
    expect(epochOrder(50, false, 7, 0)).toBeNull();
  });

  it('startBatch yields the tail of the same epoch', () => {
    const s = split(23);
    const opts = { batchSize: 5, shuffle: true, seed: 3, epoch: 2 };
    const all = collect(iterateBatches(s, opts));
    const tail = collect(iterateBatches(s, { ...opts, startBatch: 3 }));
    expect(tail).toEqual(all.slice(3));
    expect(tail[0].index).toBe(3);
    expect([...iterateBatches(s, { ...opts, startBatch: 5 })]).toEqual([]);
    expect(() => [...iterateBatches(s, { ...opts, startBatch: 6 })]).toThrow(/startBatch = 6/);
  });

  it('reuses its buffers: a batch is valid until the next one', () => {
    const it = iterateBatches(split(12), { batchSize: 4 });
    const first = it.next().value as Batch;
    const firstItems = first.itemId;
    expect(Array.from(firstItems)).toEqual([0, 1, 2, 3]);
    const second = it.next().value as Batch;
    expect(second.itemId.buffer).toBe(firstItems.buffer);
    expect(Array.from(firstItems)).toEqual([4, 5, 6, 7]);
  });

  it('a split without labels gives label null', () => {
    const [b] = [...iterateBatches(split(3, false), { batchSize: 4 })];
    expect(b.label).toBeNull();
    expect(b.size).toBe(3);
  });
});
