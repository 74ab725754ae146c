/**
 * The real files were written by pandas/pyarrow; other writers choose other widths and list flavours. Every flavour
 * below is legitimate and must load to exactly the same typed arrays as the int64 / list<int64> / list<float32>
 * baseline. (polars reads pyarrow's list and large_list alike as List; fixed-size lists read as Array.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import pl from 'nodejs-polars';
import type { DataType } from 'nodejs-polars';
import { loadItemEmbeddings, loadItemFeatures, loadItemInfo, loadItemSequences, loadSplit } from '../../src/data/load';
import { microlensTables, type TableName } from '../../src/data/schema';
import { removeFixtures, writeFixture, type FixtureTables } from '../helpers/fixtures';

afterAll(removeFixtures);

const baseline = writeFixture({ options: { testLabel: true } });
const INT_DTYPES: [string, DataType][] = [
  ['Int8', pl.Int8],
  ['Int16', pl.Int16],
  ['Int32', pl.Int32],
  ['Int64', pl.Int64],
  ['UInt8', pl.UInt8],
  ['UInt16', pl.UInt16],
  ['UInt32', pl.UInt32],
  ['UInt64', pl.UInt64],
];

/** Rewrites every scalar int column (ids, levels, ID; label too) and every int list's elements to `dtype`. */
function allInts(t: FixtureTables, dtype: DataType, listFlavour: 'list' | 'array' = 'list'): void {
  for (const table of Object.values(t)) {
    for (const col of Object.values(table)) {
      const v = col.dtype.variant;
      if (v.startsWith('Int') || v.startsWith('UInt')) col.dtype = dtype;
      if (v === 'List' && (col.dtype as unknown as { inner: DataType[] }).inner[0].variant === 'Int64') {
        const lengths = new Set((col.values as unknown[][]).map((x) => x.length));
        col.dtype = listFlavour === 'array' && lengths.size === 1 ? pl.FixedSizeList(dtype, [...lengths][0]) : pl.List(dtype);
      }
    }
  }
}

/** The dtypes as written, to be sure each case tests the flavour it names. */
function writtenDtype(root: string, table: TableName, column: string): string {
  return String(pl.readParquet(`${root}/${microlensTables()[table].path}`, { nRows: 0 }).schema[column]);
}

async function expectSameSplits(root: string): Promise<void> {
  for (const split of ['train', 'valid', 'test'] as const) {
    const got = await loadSplit(root, split, { seqLen: 100 });
    const want = await loadSplit(baseline, split, { seqLen: 100 });
    expect(got).toEqual(want);
  }
}

describe('dtype flavours load like the int64 baseline', () => {
  it.each(INT_DTYPES)('ids, levels, labels and sequences as %s', async (name, dtype) => {
    const root = writeFixture({ options: { testLabel: true }, edit: (t) => allInts(t, dtype) });
    expect(writtenDtype(root, 'train', 'item_id')).toBe(`DataType(${name})`);
    expect(writtenDtype(root, 'train', 'item_seq')).toBe(`DataType(List(DataType(${name})))`);
    await expectSameSplits(root);
    expect(await loadItemInfo(root)).toEqual(await loadItemInfo(baseline));
    expect(await loadItemSequences(root)).toEqual(await loadItemSequences(baseline));
  });

  it('fixed-size Array lists (item_seq, item_tags, embeddings), int32 and float64 elements', async () => {
    const root = writeFixture({
      options: { testLabel: true },
      edit: (t) => {
        allInts(t, pl.Int32, 'array');
        t.item_info.item_emb_d128.dtype = pl.FixedSizeList(pl.Float64, 128);
        for (const c of ['txt_emb_BERT', 'img_emb_CLIPRN50'] as const) {
          const col = t.item_feature[c];
          col.dtype = pl.FixedSizeList(pl.Float32, (col.values[0] as number[]).length);
        }
      },
    });
    expect(writtenDtype(root, 'train', 'item_seq')).toBe('DataType(FixedSizeList(DataType(Int32),100))');
    expect(writtenDtype(root, 'item_info', 'item_emb_d128')).toBe('DataType(FixedSizeList(DataType(Float64),128))');
    await expectSameSplits(root);
    expect(await loadItemInfo(root)).toEqual(await loadItemInfo(baseline));
    expect(await loadItemFeatures(root)).toEqual(await loadItemFeatures(baseline));
  });

  it.each([
    ['Float64', pl.Float64],
    ['Float32', pl.Float32],
    ['Bool', pl.Bool],
    ['UInt8', pl.UInt8],
  ] as [string, DataType][])('label as %s', async (name, dtype) => {
    const root = writeFixture({
      options: { testLabel: true },
      edit: (t) => {
        for (const s of [t.train, t.valid, t.test]) {
          s.label.dtype = dtype;
          if (name === 'Bool') s.label.values = s.label.values.map((v) => v === 1);
        }
      },
    });
    expect(writtenDtype(root, 'valid', 'label')).toBe(`DataType(${name})`);
    await expectSameSplits(root);
  });

  it('float64 embedding elements everywhere', async () => {
    const root = writeFixture({
      edit: (t) => {
        t.item_info.item_emb_d128.dtype = pl.List(pl.Float64);
        for (const c of Object.keys(t.item_emb)) if (c !== 'item_id') t.item_emb[c].dtype = pl.List(pl.Float64);
      },
    });
    expect(writtenDtype(root, 'item_emb', 'item_emb_d128_v2')).toBe('DataType(List(DataType(Float64)))');
    // float64 → float32 rounds exactly as the float32 baseline was rounded.
    expect(await loadItemInfo(root)).toEqual(await loadItemInfo(baseline));
    expect(await loadItemEmbeddings(root)).toEqual(await loadItemEmbeddings(baseline));
  });

  it('categorical titles, extra columns (a pandas index) and another column order', async () => {
    const root = writeFixture({
      options: { testLabel: true },
      edit: (t) => {
        t.item_feature.item_title.dtype = pl.Categorical;
        const train = t.train;
        t.train = {
          __index_level_0__: { values: train.user_id.values.map((_, i) => i), dtype: pl.Int64 },
          label: train.label,
          item_id: train.item_id,
          views_level: train.views_level,
          likes_level: train.likes_level,
          item_seq: train.item_seq,
          user_id: train.user_id,
          extra_text: { values: train.user_id.values.map(() => 'x'), dtype: pl.String },
        };
      },
    });
    expect(writtenDtype(root, 'item_feature', 'item_title')).toBe('DataType(Categorical)');
    expect(await loadSplit(root, 'train')).toEqual(await loadSplit(baseline, 'train'));
    expect((await loadItemFeatures(root)).title).toEqual((await loadItemFeatures(baseline)).title);
  });
});
