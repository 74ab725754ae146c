import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, describe, expect, it } from 'vitest';
import { columnsToFrame, writeTable, type ColumnData } from '../../src/data/write';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mmctr-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function chunk(r0: number, n: number): ColumnData[] {
  return [
    { name: 'id', kind: 'int64', values: Int32Array.from({ length: n }, (_, i) => r0 + i) },
    { name: 'seq', kind: 'int64List', values: Int32Array.from({ length: n * 3 }, (_, i) => r0 * 3 + i), width: 3 },
    {
      name: 'tags',
      kind: 'int64VarList',
      // Row i has i tags (row 0 none).
      offsets: Int32Array.from({ length: n + 1 }, (_, i) => (i * (i - 1)) / 2),
      values: Int32Array.from({ length: (n * (n - 1)) / 2 }, (_, i) => i + 1),
    },
    { name: 'emb', kind: 'float32List', values: Float32Array.from({ length: n * 2 }, (_, i) => i / 4), width: 2 },
    { name: 'title', kind: 'string', values: Array.from({ length: n }, (_, i) => `t${r0 + i}`) },
    { name: 'label', kind: 'int64', values: Uint8Array.from({ length: n }, (_, i) => i % 2) },
    { name: 'p', kind: 'float64', values: Float64Array.from({ length: n }, (_, i) => i / 10) },
    { name: 'f', kind: 'float32', values: Float32Array.from({ length: n }, (_, i) => i / 8) },
  ];
}

describe('writeTable', () => {
  it('writes pandas/pyarrow dtypes and the exact values, from several chunks', async () => {
    const file = path.join(dir, 'sub', 'a.parquet');
    const res = await writeTable(file, [chunk(0, 3), chunk(3, 2)]);
    expect(res.rows).toBe(5);
    expect(res.bytes).toBeGreaterThan(0);
    const df = pl.readParquet(file);
    const types = Object.fromEntries(Object.entries(df.schema).map(([k, v]) => [k, String(v)]));
    expect(types).toEqual({
      id: 'DataType(Int64)',
      seq: 'DataType(List(DataType(Int64)))',
      tags: 'DataType(List(DataType(Int64)))',
      emb: 'DataType(List(DataType(Float32)))',
      title: 'DataType(String)',
      label: 'DataType(Int64)',
      p: 'DataType(Float64)',
      f: 'DataType(Float32)',
    });
    const rows = df.toRecords();
    expect(rows.map((r) => Number(r.id))).toEqual([0, 1, 2, 3, 4]);
    expect((rows[3].seq as unknown as number[]).map(Number)).toEqual([9, 10, 11]);
    expect((rows[4].seq as unknown as number[]).map(Number)).toEqual([12, 13, 14]);
    expect(rows.map((r) => (r.tags as unknown as number[]).map(Number))).toEqual([[], [1], [2, 3], [], [1]]);
    expect((rows[1].emb as unknown as number[]).map(Number)).toEqual([0.5, 0.75]);
    expect(rows.map((r) => r.title)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(rows.map((r) => Number(r.label))).toEqual([0, 1, 0, 0, 1]);
  });

  it('is byte-for-byte deterministic', async () => {
    const a = path.join(dir, 'x.parquet');
    const b = path.join(dir, 'y.parquet');
    await writeTable(a, [chunk(0, 40), chunk(40, 7)]);
    await writeTable(b, (function* () {
      yield chunk(0, 40);
      yield chunk(40, 7);
    })());
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('rejects ragged chunks and mismatched columns', async () => {
    const bad = chunk(0, 3);
    bad[0] = { name: 'id', kind: 'int64', values: new Int32Array(2) };
    expect(() => columnsToFrame(bad)).toThrow(/column seq has 3 rows, column id has 2/);
    expect(() => columnsToFrame([{ name: 's', kind: 'int64List', values: new Int32Array(5), width: 2 }])).toThrow(/rows of 2/);
    await expect(writeTable(path.join(dir, 'z.parquet'), [chunk(0, 2), chunk(2, 2).slice(1)])).rejects.toThrow(/chunk 1/);
    await expect(writeTable(path.join(dir, 'e.parquet'), [])).rejects.toThrow(/no chunks/);
  });
});
