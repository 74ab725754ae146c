/**
 * The host-built index data of the fused webgpu DIN step: positionsBySlot (kernels/webgpu/dinBlock.ts), per chunk
 * of batch rows, against a direct construction; the item encoder's unique lookup (models/features.ts), which also
 * checks the id range in its pass, against a direct construction, its error and its recovery after one.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dinBlockChunkRows, positionsBySlot } from '../../src/engine/kernels/webgpu/dinBlock';
import { ItemEncoder, microlensFeatureMap } from '../../src/models/features';
import { tinyItemTable } from '../models/synthetic';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** b rows of history `len`, left-padded, ids 1..items−1 with repeats; slots = first-seen order of targets then history. */
function batch(b: number, len: number, items: number) {
  const itemId = Int32Array.from({ length: b }, (_, i) => 1 + ((i * 17) % (items - 1)));
  const itemSeq = new Int32Array(b * len);
  for (let r = 0; r < b; r++) for (let j = len - 1 - (r % len); j < len; j++) itemSeq[r * len + j] = 1 + ((r * 31 + j * 7) % (items - 1));
  const seen = new Map<number, number>();
  const slots = Int32Array.from([...itemId, ...itemSeq], (id) => {
    if (!seen.has(id)) seen.set(id, seen.size);
    return seen.get(id)!;
  });
  return { itemId, itemSeq, slots, unique: Int32Array.from(seen.keys()) };
}

describe('host index builds of the fused webgpu DIN step', () => {
  it('positionsBySlot: per chunk of batch rows, every slot lists its valid positions in order (targets, then history)', () => {
    const b = 23;
    const len = 6;
    const { itemSeq, slots, unique } = batch(b, len, 40);
    for (const chunkRows of [b, 5, 1]) {
      const { offsets, positions } = positionsBySlot(slots, b, itemSeq, unique.length, chunkRows);
      const chunks = Math.ceil(b / chunkRows);
      expect(offsets.length).toBe(chunks * unique.length + 1);
      for (let c = 0; c < chunks; c++) {
        const r0 = c * chunkRows;
        const r1 = Math.min(b, r0 + chunkRows);
        for (let s = 0; s < unique.length; s++) {
          const want: number[] = [];
          for (let p = r0; p < r1; p++) if (slots[p] === s) want.push(p);
          for (let i = r0 * len; i < r1 * len; i++) if (itemSeq[i] > 0 && slots[b + i] === s) want.push(b + i);
          const k = c * unique.length + s;
          expect(Array.from(positions.subarray(offsets[k], offsets[k + 1])), `chunk ${c}, slot ${s}`).toEqual(want);
        }
      }
      expect(offsets[chunks * unique.length]).toBe(b + itemSeq.filter((id) => id > 0).length);
    }
  });

  it('dinBlockChunkRows: one chunk when the batch fits, else equal chunks under the limit; an error when one row does not fit', () => {
    expect(dinBlockChunkRows(16384, 64, 512, 2 ** 31)).toBe(16384);
    expect(dinBlockChunkRows(16384, 64, 512, 2 ** 31 - 4)).toBe(8192);
    expect(dinBlockChunkRows(24, 50, 144, 5 * 50 * 144 * 4)).toBe(5);
    expect(() => dinBlockChunkRows(8, 64, 512, 1000)).toThrow(/one batch row's activations .* exceed the storage-buffer limit of 1000 bytes/);
  });

  it('unique lookup: slots in first-seen order, the ids checked in the same pass; after a bad id the next batch is unaffected', () => {
    const table = tinyItemTable({ items: 40, tags: 12, embDim: 8, seqLen: 6 });
    const encoder = new ItemEncoder(microlensFeatureMap(table).item, table, { embeddingDim: 8 });
    const b = 9;
    const { itemId, itemSeq, slots, unique } = batch(b, 6, table.tags.rows);
    const run = (ids: Int32Array, seq: Int32Array) => {
      const t = tf.tensor1d(ids, 'int32');
      const s = tf.tensor2d(seq, [b, 6], 'int32');
      try {
        const enc = encoder.encodeSlots(t, s)!;
        enc.vectors.dispose();
        return enc;
      } finally {
        tf.dispose([t, s]);
      }
    };
    const first = run(itemId, itemSeq);
    expect(Array.from(first.slots)).toEqual(Array.from(slots));
    const bad = itemSeq.slice();
    bad[20] = table.tags.rows; // one past the table
    expect(() => run(itemId, bad)).toThrow(new RegExp(`itemSeq: item id ${table.tags.rows} at flat position 20 is outside 0\\.\\.${table.tags.rows - 1}`));
    const badTarget = itemId.slice();
    badTarget[3] = -2;
    expect(() => run(badTarget, itemSeq)).toThrow(/itemId: item id -2 at flat position 3 is outside/);
    const again = run(itemId, itemSeq);
    expect(Array.from(again.slots)).toEqual(Array.from(slots));
    expect(unique.length).toBe(new Set(slots).size);
  });
});
