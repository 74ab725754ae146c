import { describe, expect, it } from 'vitest';
import type { InteractionSplit } from '../../src/data/schema';
import { fitLog2Line, headSplit, rowsAtAuc } from '../../bench/lib/learningCurve';
import { mergeRows, settingsOf, type MergeOptions, type PreviousResults } from '../../bench/lib/mergeResults';
import { BIAS_SD, COMMUNITY_SLOTS, LATENT_SCALE, truthItemTable, type TruthItem } from '../../bench/lib/truthItemTable';

describe('learning curve line in log2(train rows)', () => {
  it('recovers an exact line and extrapolates where it reaches a target', () => {
    // auc = 0.5 + 0.02 · log2(n)
    const pts = [1024, 4096, 16384].map((n) => ({ trainRows: n, auc: 0.5 + 0.02 * Math.log2(n) }));
    const line = fitLog2Line(pts)!;
    expect(line.slope).toBeCloseTo(0.02, 12);
    expect(line.intercept).toBeCloseTo(0.5, 12);
    expect(line.r2).toBeCloseTo(1, 12);
    expect(line.points).toBe(3);
    // 0.5 + 0.02 · 20 = 0.9 at 2^20 rows
    expect(rowsAtAuc(line, 0.9)).toBeCloseTo(2 ** 20, 3);
  });

  it('fits least squares through noisy points (slope of the centred data)', () => {
    // x = log2 n = 1, 2, 3; y = 0.1, 0.3, 0.2 → slope 0.05, intercept 0.1, R² 0.25
    const line = fitLog2Line([
      { trainRows: 2, auc: 0.1 },
      { trainRows: 4, auc: 0.3 },
      { trainRows: 8, auc: 0.2 },
    ])!;
    expect(line.slope).toBeCloseTo(0.05, 12);
    expect(line.intercept).toBeCloseTo(0.1, 12);
    expect(line.r2).toBeCloseTo(0.25, 12);
  });

  it('fits nothing on one row count and never reaches a target with a flat or falling line', () => {
    expect(fitLog2Line([{ trainRows: 100, auc: 0.7 }, { trainRows: 100, auc: 0.71 }])).toBeNull();
    const falling = fitLog2Line([{ trainRows: 100, auc: 0.72 }, { trainRows: 200, auc: 0.71 }])!;
    expect(falling.slope).toBeLessThan(0);
    expect(rowsAtAuc(falling, 0.8)).toBe(Infinity);
  });
});

describe('headSplit', () => {
  const rows = 4;
  const L = 3;
  const split: InteractionSplit = {
    split: 'train',
    rows,
    userId: Int32Array.from([1, 2, 3, 4]),
    itemId: Int32Array.from([5, 6, 7, 8]),
    likesLevel: Int32Array.from([0, 1, 2, 3]),
    viewsLevel: Int32Array.from([3, 2, 1, 0]),
    itemSeq: { data: Int32Array.from({ length: rows * L }, (_, i) => i), rows, cols: L },
    label: Uint8Array.from([1, 0, 1, 0]),
    id: null,
  };

  it('keeps the first n rows of every column, histories included', () => {
    const h = headSplit(split, 2);
    expect(h.rows).toBe(2);
    expect([...h.userId]).toEqual([1, 2]);
    expect([...h.itemId]).toEqual([5, 6]);
    expect([...h.viewsLevel]).toEqual([3, 2]);
    expect([...h.label!]).toEqual([1, 0]);
    expect(h.itemSeq.rows).toBe(2);
    expect([...h.itemSeq.data]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(h.id).toBeNull();
    expect(headSplit(split, rows)).toBe(split);
  });

  it('refuses row counts outside 1..rows', () => {
    expect(() => headSplit(split, 0)).toThrow(RangeError);
    expect(() => headSplit(split, 5)).toThrow(/5 rows asked of a train split of 4/);
  });
});

describe('truthItemTable', () => {
  const items: TruthItem[] = [
    { itemId: 2, latent: [3, 4], community: 5, popularityStd: -0.5, bias: 0.15 },
    { itemId: 1, latent: [0, -2], community: 0, popularityStd: 1.25, bias: -0.3 },
  ];

  it('lays out √1.5·z/‖z‖ ‖ one-hot community ‖ popularity ‖ bias/0.3 per item id, other rows zero', () => {
    const dim = 2 + COMMUNITY_SLOTS + 2 + 1;
    const t = truthItemTable(items, 4, dim);
    const row = (id: number) => Array.from(t.subarray(id * dim, (id + 1) * dim));
    const expected = (z: number[], c: number, pop: number, bias: number) => {
      const r = new Array<number>(dim).fill(0);
      const n = Math.hypot(...z);
      z.forEach((v, j) => (r[j] = Math.fround((LATENT_SCALE * v) / n)));
      r[2 + c] = 1;
      r[2 + COMMUNITY_SLOTS] = Math.fround(pop);
      r[2 + COMMUNITY_SLOTS + 1] = Math.fround(bias / BIAS_SD);
      return r;
    };
    expect(row(0)).toEqual(new Array(dim).fill(0));
    expect(row(3)).toEqual(new Array(dim).fill(0));
    expect(row(2)).toEqual(expected([3, 4], 5, -0.5, 0.15));
    expect(row(1)).toEqual(expected([0, -2], 0, 1.25, -0.3));
    // The dot product of the latent + community parts is the generator's 1.5·cos + 1·[same community].
    const a = row(1);
    const b = row(2);
    let dot = 0;
    for (let j = 0; j < 2 + COMMUNITY_SLOTS; j++) dot += a[j] * b[j];
    expect(dot).toBeCloseTo(1.5 * ((3 * 0 + 4 * -2) / (5 * 2)), 6);
  });

  it('refuses what does not fit', () => {
    expect(() => truthItemTable(items, 4, COMMUNITY_SLOTS + 3)).toThrow(/do not fit/);
    expect(() => truthItemTable(items, 2)).toThrow(/item_id 2 outside/);
    expect(() => truthItemTable([{ ...items[0], community: COMMUNITY_SLOTS }], 4)).toThrow(/community 64/);
  });
});

describe('--merge', () => {
  const key: MergeOptions['key'] = (r) => `${r.table} @ ${r.frac}`;
  const opts: MergeOptions = { key, selectionFlags: ['--tables', '--fracs'], compare: (a, b) => Number(a.frac) - Number(b.frac) };
  const cmd = (tables: string, extra = '') => `node bench/x.ts --lr 0.002 --tables ${tables} --fracs 0.5,1${extra} --merge`;
  const previous: PreviousResults = {
    command: cmd('fused,truth'),
    rows: [
      { table: 'fused', frac: 1, auc: 0.78 },
      { table: 'fused', frac: 0.5, auc: 0.75 },
    ],
    machine: { date: '2026-01-01' },
  };

  it('compares settings without the selection flags', () => {
    expect(settingsOf(cmd('fused'), opts.selectionFlags)).toBe('node bench/x.ts --lr 0.002');
    expect(settingsOf("a --only 'x y' --lr 1 --merge", ['--only'])).toBe('a --lr 1');
  });

  it('keeps previous rows of other keys, replaces equal keys, sorts', () => {
    const m = mergeRows([{ table: 'fused', frac: 1, auc: 0.79 }], cmd('fused'), previous, opts);
    expect(m.rows).toEqual([
      { table: 'fused', frac: 0.5, auc: 0.75 },
      { table: 'fused', frac: 1, auc: 0.79 },
    ]);
    expect(m.kept.map(key)).toEqual(['fused @ 0.5']);
    expect(m.notes[0]).toMatch(/2026-01-01\): fused @ 0.5\./);
  });

  it('keeps nothing when the settings differ, or when there is no previous file', () => {
    const m = mergeRows([{ table: 'fused', frac: 1, auc: 0.79 }], cmd('fused').replace('0.002', '0.001'), previous, opts);
    expect(m.rows).toHaveLength(1);
    expect(m.notes[0]).toMatch(/other settings/);
    expect(mergeRows([], cmd('fused'), null, opts)).toEqual({ rows: [], kept: [], notes: [] });
  });
});
