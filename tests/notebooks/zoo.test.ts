import { describe, expect, it } from 'vitest';
import type { InteractionSplit } from '../../src/data/schema';
import { ZOO_ROW_CAPS, alignedTable, formatZooTable, sampleRows, type ZooRow } from '../../src/notebooks/zoo';

function split(rows: number, cols = 3): InteractionSplit {
  const seq = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) seq[r * cols + c] = r * 10 + c;
  return {
    split: 'train',
    rows,
    userId: Int32Array.from({ length: rows }, (_, i) => 1000 + i),
    itemId: Int32Array.from({ length: rows }, (_, i) => 2000 + i),
    likesLevel: Int32Array.from({ length: rows }, (_, i) => i % 10),
    viewsLevel: Int32Array.from({ length: rows }, (_, i) => (i + 3) % 10),
    itemSeq: { data: seq, rows, cols },
    label: Uint8Array.from({ length: rows }, (_, i) => i % 2),
    id: null,
  };
}

describe('sampleRows', () => {
  it('keeps a seeded sample of whole rows, in the split order, every column sliced alike', () => {
    const s = split(50);
    const a = sampleRows(s, 12, 'seed-a');
    expect(a.rows).toBe(12);
    expect(a.itemSeq.rows).toBe(12);
    expect(a.itemSeq.data.length).toBe(12 * 3);
    const picked = Array.from(a.userId, (u) => u - 1000);
    expect(new Set(picked).size).toBe(12);
    expect([...picked].sort((x, y) => x - y)).toEqual(picked);
    picked.forEach((r, i) => {
      expect(a.itemId[i]).toBe(2000 + r);
      expect(a.likesLevel[i]).toBe(r % 10);
      expect(a.viewsLevel[i]).toBe((r + 3) % 10);
      expect(a.label![i]).toBe(r % 2);
      expect(Array.from(a.itemSeq.data.subarray(i * 3, i * 3 + 3))).toEqual([r * 10, r * 10 + 1, r * 10 + 2]);
    });
    expect(a.label).toBeInstanceOf(Uint8Array);
    expect(a.id).toBeNull();
    expect(Array.from(sampleRows(s, 12, 'seed-a').userId)).toEqual(Array.from(a.userId));
    expect(Array.from(sampleRows(s, 12, 'seed-b').userId)).not.toEqual(Array.from(a.userId));
  });

  it('returns the split itself when the cap is not below its rows, and refuses a non-positive cap', () => {
    const s = split(5);
    expect(sampleRows(s, 5, 1)).toBe(s);
    expect(sampleRows(s, 9, 1)).toBe(s);
    expect(() => sampleRows(s, 0, 1)).toThrow(/positive integer/);
    expect(() => sampleRows(s, 2.5, 1)).toThrow(/positive integer/);
  });

  it('caps only transformerDcn, below the small train split (150,000 rows)', () => {
    expect(Object.keys(ZOO_ROW_CAPS.small)).toEqual(['transformerDcn']);
    expect(ZOO_ROW_CAPS.small.transformerDcn!).toBeLessThan(150000);
    expect(ZOO_ROW_CAPS.tiny.transformerDcn!).toBeLessThan(4000);
  });
});

describe('formatZooTable', () => {
  const row = (model: string, auc: number, extra: Partial<ZooRow> = {}): ZooRow => ({
    model, preset: `${model}Small`, params: 123456, trainRows: 150000, capped: false, bestEpoch: 2, epochs: 2, auc, logloss: 0.52345, gauc: null, oracleAuc: 0.86915, ...extra,
  });

  it('sorts by valid AUC, marks capped rows, prints 4 decimals and no timings', () => {
    const t = formatZooTable([row('dcn', 0.68369), row('din', 0.70021, { gauc: 0.61 }), row('transformerDcn', 0.6, { capped: true, trainRows: 10000, bestEpoch: 1 })]);
    const lines = t.trimEnd().split('\n');
    expect(lines[0]).toBe('model           preset                params  train rows  best/epochs  valid AUC  logloss    gAUC  gap to oracle');
    expect(lines[2]).toBe('din             dinSmall             123,456    150,000           2/2     0.7002   0.5234  0.6100         0.1689');
    expect(lines[3]).toBe('dcn             dcnSmall             123,456    150,000           2/2     0.6837   0.5234       -         0.1855');
    expect(lines[4]).toBe('transformerDcn  transformerDcnSmall  123,456     10,000*          1/2     0.6000   0.5234       -         0.2692');
    expect(t).not.toMatch(/samples|\/s/);
  });

  it('prints - for the gap without an oracle', () => {
    expect(formatZooTable([row('din', 0.7, { oracleAuc: null })]).trimEnd().split('\n')[2]).toMatch(/ -$/);
  });

  it('alignedTable left-aligns the text columns only', () => {
    expect(alignedTable(['a', 'bb', 'n'], [['x', 'y', '1'], ['xyz', 'w', '22']], 2)).toBe(['a    bb   n', '---  --  --', 'x    y    1', 'xyz  w   22', ''].join('\n'));
  });
});
