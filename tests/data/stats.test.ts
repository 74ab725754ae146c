import { afterAll, describe, expect, it } from 'vitest';
import { loadItemSequences, loadSplit } from '../../src/data/load';
import { countDistinct, itemSequenceStats, nonZeroPerRow, splitStats, summarize } from '../../src/data/stats';
import { fixtureTables, removeFixtures, writeFixture } from '../helpers/fixtures';

afterAll(removeFixtures);

describe('summaries', () => {
  it('summarize: min, median (odd and even counts), mean, max; NaN when empty', () => {
    expect(summarize([5, 1, 3])).toEqual({ min: 1, median: 3, mean: 3, max: 5 });
    expect(summarize(Int32Array.from([4, 1, 2, 10]))).toEqual({ min: 1, median: 3, mean: 4.25, max: 10 });
    expect(summarize([]).median).toBeNaN();
  });

  it('countDistinct, optionally without the padding 0; negative values too', () => {
    expect(countDistinct(Int32Array.from([0, 3, 3, 7, 0]))).toBe(3);
    expect(countDistinct(Int32Array.from([0, 3, 3, 7, 0]), true)).toBe(2);
    expect(countDistinct(Int32Array.from([-5, -5, 2]))).toBe(2);
  });

  it('nonZeroPerRow counts valid positions (id > 0) per row', () => {
    expect(Array.from(nonZeroPerRow(Int32Array.from([0, 0, 4, 0, 2, 9, 0, 0, 0]), 3, 3))).toEqual([1, 2, 0]);
  });
});

describe('table statistics', () => {
  it('splitStats and itemSequenceStats match the fixture', async () => {
    const t = fixtureTables();
    const root = writeFixture({ only: ['train', 'item_seq', 'item_info'] });
    const s = splitStats(await loadSplit(root, 'train', { seqLen: 100 }));
    const labels = t.train.label.values as number[];
    expect(s.rows).toBe(48);
    expect(s.positives).toBe(labels.filter((v) => v === 1).length);
    expect(s.positiveRate).toBeCloseTo(0.25, 10);
    expect(s.users).toBe(new Set(t.train.user_id.values).size);
    expect(s.items).toBe(new Set(t.train.item_id.values).size);
    const lengths = (t.train.item_seq.values as number[][]).map((l) => l.filter((v) => v > 0).length);
    expect(s.historyLength).toEqual(summarize(lengths));
    const q = itemSequenceStats(await loadItemSequences(root));
    expect(q.length).toEqual(summarize((t.item_seq.item_seq.values as number[][]).map((l) => l.filter((v) => v !== 0).length)));
    expect(q.users).toBe(new Set(t.item_seq.user_id.values).size);
  });
});
