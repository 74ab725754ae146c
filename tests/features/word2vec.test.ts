/** Skip-gram with negative sampling over item sequences: planted communities are recovered; seeded; threads; kernels. */
import { describe, expect, it } from 'vitest';
import type { ItemSequences } from '../../src/data/schema';
import { labelPrecision, topNeighbours } from '../../src/features/retrieval';
import { sgnsWasmSupported } from '../../src/features/sgnsWasm';
import { distinctSequences, fillUnigramTable, trainWord2Vec, type Word2VecOptions } from '../../src/features/word2vec';
import { rng } from '../../src/util/rng';

const ITEMS = 240;
const COMMUNITIES = 6;
/** community of item i (1..240): (i − 1) mod 6, so ids give no hint. */
const community = Int32Array.from({ length: ITEMS + 1 }, (_, i) => (i === 0 ? -1 : (i - 1) % COMMUNITIES));

/** Users whose histories stay inside one community (90%) or wander (10%); every prefix ≥ 3 stored, as in item_seq. */
function plantedSequences(users: number, seed: number): ItemSequences {
  const r = rng(seed);
  const userId: number[] = [];
  const offsets = [0];
  const values: number[] = [];
  for (let u = 1; u <= users; u++) {
    const c = r.int(COMMUNITIES);
    const len = 4 + r.int(9);
    const seq: number[] = [];
    for (let t = 0; t < len; t++) seq.push(r.uniform() < 0.9 ? 1 + c + COMMUNITIES * r.int(ITEMS / COMMUNITIES) : 1 + r.int(ITEMS));
    for (let p = 3; p <= len; p++) {
      userId.push(u);
      values.push(...seq.slice(0, p));
      offsets.push(values.length);
    }
  }
  return { rows: userId.length, userId: Int32Array.from(userId), offsets: Int32Array.from(offsets), values: Int32Array.from(values) };
}

const seqs = plantedSequences(1500, 1);
const queries = Int32Array.from({ length: ITEMS }, (_, i) => i + 1);
const base: Partial<Word2VecOptions> = { epochs: 5, progress: false, threads: 1 };

function communityPrecision(vectors: Float32Array): number {
  return labelPrecision(topNeighbours(vectors, 128, queries, { k: 10 }), queries, 10, community);
}

describe('word2vec (SGNS)', () => {
  it('keeps only the histories that are no prefix of another row of the same user', () => {
    const s: ItemSequences = {
      rows: 6,
      userId: Int32Array.of(2, 1, 1, 2, 1, 3),
      offsets: Int32Array.of(0, 2, 5, 7, 10, 14, 17),
      // rows: u2 [5,6] | u1 [1,2,3] | u1 [1,2] | u2 [5,6,7] | u1 [1,2,3,4] | u3 [5,6,7]
      values: Int32Array.of(5, 6, 1, 2, 3, 1, 2, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7),
    };
    const d = distinctSequences(s);
    expect(Array.from(d.rows)).toEqual([3, 4, 5]);
    expect(Array.from(d.sequences.offsets)).toEqual([0, 3, 7, 10]);
    expect(Array.from(d.sequences.values)).toEqual([5, 6, 7, 1, 2, 3, 4, 5, 6, 7]);
    // Equal rows of one user: the first is kept.
    const dup: ItemSequences = { rows: 2, userId: Int32Array.of(1, 1), offsets: Int32Array.of(0, 2, 4), values: Int32Array.of(3, 4, 3, 4) };
    expect(Array.from(distinctSequences(dup).rows)).toEqual([0]);
    expect(distinctSequences(seqs).rows.length).toBe(1500);
  });

  it('fills the negative-sampling table in proportion to the weights', () => {
    const t = new Int32Array(1000);
    fillUnigramTable(t, Float64Array.of(1, 2, 7));
    const c = [0, 0, 0, 0];
    for (const v of t) c[v]++;
    expect(c[0]).toBe(0);
    expect(Math.abs(c[1] - 100)).toBeLessThanOrEqual(1);
    expect(Math.abs(c[2] - 200)).toBeLessThanOrEqual(1);
    expect(Math.abs(c[3] - 700)).toBeLessThanOrEqual(1);
  });

  it.each<'typescript' | 'wasm'>(['typescript', ...(sgnsWasmSupported(false) ? (['wasm'] as const) : [])])(
    'recovers planted communities from co-occurrence (%s kernel)',
    async (kernel) => {
      const res = await trainWord2Vec(seqs, ITEMS, { ...base, kernel });
      expect(res.kernel).toBe(kernel);
      expect(res.sequences).toBe(1500);
      expect(res.vocabulary).toBe(ITEMS);
      // Chance is 39/239 ≈ 0.16.
      expect(communityPrecision(res.vectors)).toBeGreaterThan(0.8);
      expect(Array.from(res.vectors.subarray(0, 128)).every((v) => v === 0)).toBe(true);
    },
  );

  it('is seeded: the same seed gives the same vectors on one thread, another seed other vectors', async () => {
    const a = await trainWord2Vec(seqs, ITEMS, { ...base, epochs: 1, seed: 3 });
    const b = await trainWord2Vec(seqs, ITEMS, { ...base, epochs: 1, seed: 3 });
    const c = await trainWord2Vec(seqs, ITEMS, { ...base, epochs: 1, seed: 4 });
    expect(Buffer.from(a.vectors.buffer).equals(Buffer.from(b.vectors.buffer))).toBe(true);
    expect(Buffer.from(a.vectors.buffer).equals(Buffer.from(c.vectors.buffer))).toBe(false);
  });

  it('the wasm and typescript kernels compute the same updates (same draws, σ from a table vs exact)', async () => {
    if (!sgnsWasmSupported(false)) return;
    const w = await trainWord2Vec(seqs, ITEMS, { ...base, epochs: 1, kernel: 'wasm' });
    const t = await trainWord2Vec(seqs, ITEMS, { ...base, epochs: 1, kernel: 'typescript' });
    let num = 0;
    let den = 0;
    for (let i = 0; i < w.vectors.length; i++) {
      num += (w.vectors[i] - t.vectors[i]) ** 2;
      den += t.vectors[i] ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(0.02);
  });

  it('trains on worker threads (shared vectors) to the same quality', async () => {
    const res = await trainWord2Vec(seqs, ITEMS, { ...base, threads: 2 });
    expect(res.threads).toBe(2);
    expect(communityPrecision(res.vectors)).toBeGreaterThan(0.8);
  });

  it('gives no vector to items below minCount or never seen, and checks ids and options', async () => {
    const s: ItemSequences = { rows: 2, userId: Int32Array.of(1, 2), offsets: Int32Array.of(0, 3, 6), values: Int32Array.of(1, 2, 3, 1, 2, 4) };
    const res = await trainWord2Vec(s, 6, { ...base, minCount: 2 });
    const nonzero = (i: number) => res.vectors.subarray(i * 128, (i + 1) * 128).some((v) => v !== 0);
    expect([1, 2, 3, 4, 5, 6].map(nonzero)).toEqual([true, true, false, false, false, false]);
    expect(res.vocabulary).toBe(2);
    await expect(trainWord2Vec(s, 3, base)).rejects.toThrow(/item id 4 in item_seq is outside 0\.\.3/);
    await expect(trainWord2Vec(s, 6, { ...base, window: 0 })).rejects.toThrow(/window = 0/);
    await expect(trainWord2Vec(s, 6, { ...base, kernel: 'wasm', dim: 6 })).rejects.toThrow(/multiple of 4/);
  });
});
