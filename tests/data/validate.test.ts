/**
 * One test per kind of bad input: each must give a DataError whose code, column, first offending row and value are
 * right, and whose one-line message names the file, the column, the row and the value.
 */
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pl from 'nodejs-polars';
import { MmctrError } from '../../src/errors';
import { DataError, type DataErrorCode } from '../../src/data/errors';
import { checkIntRange } from '../../src/data/validate';
import { loadItemEmbeddings, loadItemFeatures, loadItemInfo, loadItemSequences, loadSplit } from '../../src/data/load';
import { microlensTables, type TableName } from '../../src/data/schema';
import { removeFixtures, writeFixture, type FixtureTables } from '../helpers/fixtures';

afterAll(removeFixtures);

const SPECS = microlensTables();
const fileOf = (root: string, table: TableName) => path.join(root, SPECS[table].path);

interface Expected {
  code: DataErrorCode;
  column?: string;
  row?: number;
  value?: string | number;
  /** Extra text the message must hold. */
  says?: RegExp;
}

async function expectDataError(run: Promise<unknown>, file: string, want: Expected): Promise<DataError> {
  const err = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  expect(err).toBeInstanceOf(MmctrError);
  const e = err as DataError;
  expect(e.code).toBe(want.code);
  expect(e.file).toBe(file);
  expect(e.column).toBe(want.column);
  expect(e.row).toBe(want.row);
  if (want.value !== undefined) expect(e.value).toBe(want.value);
  // One clear line: file, column, row, value; no native stack.
  expect(e.message).not.toContain('\n');
  expect(e.message.startsWith(file)).toBe(true);
  if (want.column !== undefined) expect(e.message).toContain(`column "${want.column}"`);
  if (want.row !== undefined) expect(e.message).toContain(`row ${want.row}:`);
  if (want.value !== undefined) expect(e.message).toContain(String(want.value));
  if (want.says !== undefined) expect(e.message).toMatch(want.says);
  return e;
}

/** A fixture with one edit, written with only the tables a test needs (item_info always, for the vocabulary). */
function bad(edit: (t: FixtureTables) => void, only: TableName[] = ['train', 'item_info']): string {
  return writeFixture({ edit, only });
}

describe('files', () => {
  it('missing file', async () => {
    const root = bad(() => {}, ['item_info']);
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'missingFile', says: /file not found/ });
  });

  it('truncated parquet', async () => {
    const root = bad(() => {});
    const file = fileOf(root, 'train');
    truncateSync(file, Math.floor(readFileSync(file).length / 2));
    const e = await expectDataError(loadSplit(root, 'train'), file, { code: 'unreadable', says: /cannot be read as parquet/ });
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('corrupt data pages behind an intact footer', async () => {
    const root = bad(() => {});
    const file = fileOf(root, 'train');
    const buf = readFileSync(file);
    for (let i = 8; i < buf.length / 2; i++) buf[i] = (buf[i] * 31 + 7) & 255;
    writeFileSync(file, buf);
    await expectDataError(loadSplit(root, 'train'), file, { code: 'unreadable' });
  });

  it('not a parquet file at all, and a directory in place of a file', async () => {
    const root = bad(() => {});
    writeFileSync(fileOf(root, 'train'), 'user_id,item_id\n1,2\n');
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'unreadable' });
    rmSync(fileOf(root, 'train'));
    mkdirSync(fileOf(root, 'train'));
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'unreadable', says: /not a regular file/ });
  });
});

describe('columns and dtypes', () => {
  it('missing column (the message lists the columns present)', async () => {
    const root = bad((t) => delete (t.train as Record<string, unknown>).label);
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'missingColumn', column: 'label', says: /the file has: user_id, item_seq/ });
  });

  it('missing ID in test', async () => {
    const root = bad((t) => delete (t.test as Record<string, unknown>).ID, ['test', 'item_info']);
    await expectDataError(loadSplit(root, 'test'), fileOf(root, 'test'), { code: 'missingColumn', column: 'ID' });
  });

  it.each([
    ['a float id', 'item_id', () => pl.Float64, 'Float64'],
    ['a string label', 'label', () => pl.String, 'String'],
    ['a list of strings as history', 'item_seq', () => pl.List(pl.String), 'List(String)'],
    ['a list of floats as history', 'item_seq', () => pl.List(pl.Float64), 'List(Float64)'],
    ['a scalar as history', 'item_seq', () => pl.Int64, 'Int64'],
    ['a boolean user id', 'user_id', () => pl.Bool, 'Bool'],
  ] as const)('wrong dtype: %s', async (_what, column, dtype, shown) => {
    const root = bad((t) => {
      const col = t.train[column];
      col.dtype = dtype();
      if (shown === 'String') col.values = col.values.map((v) => `v${String(v)}`);
      if (shown === 'List(String)') col.values = (col.values as number[][]).map((l) => l.map(String));
      if (shown === 'Int64') col.values = (col.values as number[][]).map((l) => l[99]);
      if (shown === 'Bool') col.values = col.values.map((v) => Number(v) % 2 === 0);
    });
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'wrongDtype', column, value: shown });
  });

  it('wrong dtype: an embedding of integers', async () => {
    const root = bad((t) => {
      t.item_info.item_emb_d128.dtype = pl.List(pl.Int64);
      t.item_info.item_emb_d128.values = (t.item_info.item_emb_d128.values as number[][]).map((l) => l.map(Math.round));
    }, ['item_info']);
    await expectDataError(loadItemInfo(root), fileOf(root, 'item_info'), { code: 'wrongDtype', column: 'item_emb_d128', value: 'List(Int64)' });
  });
});

describe('list lengths', () => {
  it('a history of 99 in a list column: first offending row and its length', async () => {
    const root = bad((t) => {
      (t.train.item_seq.values as number[][])[7] = (t.train.item_seq.values as number[][])[7].slice(1);
      (t.train.item_seq.values as number[][])[9] = [];
    });
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'wrongListLength', column: 'item_seq', row: 7, value: 99, says: /expected 100/ });
  });

  it('a fixed-size Array of the wrong size', async () => {
    const root = bad((t) => {
      t.train.item_seq.dtype = pl.FixedSizeList(pl.Int64, 99);
      t.train.item_seq.values = (t.train.item_seq.values as number[][]).map((l) => l.slice(1));
    });
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'wrongListLength', column: 'item_seq', row: 0, value: 99 });
  });

  it('item_info tags of length 6, an embedding of 127', async () => {
    let root = bad((t) => (t.item_info.item_tags.values as number[][])[3].push(1), ['item_info']);
    await expectDataError(loadItemInfo(root), fileOf(root, 'item_info'), { code: 'wrongListLength', column: 'item_tags', row: 3, value: 6 });
    root = bad((t) => (t.item_emb.item_emb_d128_v3.values as number[][])[11].pop(), ['item_emb', 'item_info']);
    await expectDataError(loadItemEmbeddings(root), fileOf(root, 'item_emb'), { code: 'wrongListLength', column: 'item_emb_d128_v3', row: 11, value: 127 });
  });
});

describe('value ranges', () => {
  it.each([
    ['item_id beyond the item vocabulary', 'item_id', 5, 41, 0],
    ['user_id 0', 'user_id', 2, 0, 0],
    ['likes_level 10', 'likes_level', 30, 10, 0],
    ['views_level -1', 'views_level', 47, -1, 0],
    ['a history id beyond the vocabulary', 'item_seq', 12, 99, 99],
    ['a negative history id', 'item_seq', 4, -3, 50],
  ] as const)('out of range: %s', async (_what, column, row, value, position) => {
    const root = bad((t) => {
      if (column === 'item_seq') (t.train.item_seq.values as number[][])[row][position] = value;
      else t.train[column].values[row] = value;
    });
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'outOfRange', column, row, value, says: /out of range/ });
  });

  it('out of range in a dropped history position still fails (the whole stored row is checked)', async () => {
    const root = bad((t) => ((t.train.item_seq.values as number[][])[3][0] = 1000));
    await expectDataError(loadSplit(root, 'train', { seqLen: 8 }), fileOf(root, 'train'), { code: 'outOfRange', column: 'item_seq', row: 3, value: 1000 });
  });

  it('a tag beyond the tag vocabulary (item_info) and in item_feature', async () => {
    const vocab = { numItems: 40, numTags: 15, numUsers: 25 };
    let root = bad((t) => ((t.item_info.item_tags.values as number[][])[6][4] = 16), ['item_info']);
    await expectDataError(loadItemInfo(root, { vocab }), fileOf(root, 'item_info'), { code: 'outOfRange', column: 'item_tags', row: 6, value: 16 });
    root = bad((t) => ((t.item_feature.item_tags.values as number[][])[9] = [1, 2, 99]), ['item_feature', 'item_info']);
    await expectDataError(loadItemFeatures(root, { vocab }), fileOf(root, 'item_feature'), { code: 'outOfRange', column: 'item_tags', row: 9, value: 99 });
  });

  it('a value beyond 32 bits, scalar and in a list (UInt64 / Int64 files)', async () => {
    let root = bad((t) => (t.train.item_id.values[8] = 2 ** 40));
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'outOfRange', column: 'item_id', row: 8, value: 2 ** 40, says: /32-bit/ });
    root = bad((t) => ((t.train.item_seq.values as number[][])[14][99] = 2 ** 40));
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'outOfRange', column: 'item_seq', row: 14, value: 2 ** 40, says: /position 99/ });
  });

  it('an item_seq.parquet id beyond the vocabulary (padding zeros allowed)', async () => {
    const root = bad((t) => ((t.item_seq.item_seq.values as number[][])[17] = [0, 0, 3, 77]), ['item_seq', 'item_info']);
    await expectDataError(loadItemSequences(root), fileOf(root, 'item_seq'), { code: 'outOfRange', column: 'item_seq', row: 17, value: 77 });
  });
});

describe('embeddings and labels', () => {
  it.each([
    ['NaN', NaN, 'NaN'],
    ['Infinity', Infinity, 'Infinity'],
    ['-Infinity', -Infinity, '-Infinity'],
  ] as const)('non-finite embedding value: %s', async (_what, v, shown) => {
    const root = bad((t) => ((t.item_info.item_emb_d128.values as number[][])[13][77] = v), ['item_info']);
    await expectDataError(loadItemInfo(root), fileOf(root, 'item_info'), { code: 'nonFinite', column: 'item_emb_d128', row: 13, value: shown });
  });

  it('non-finite value in item_feature image vectors', async () => {
    const root = bad((t) => ((t.item_feature.img_emb_CLIPRN50.values as number[][])[20][1000] = NaN), ['item_feature', 'item_info']);
    await expectDataError(loadItemFeatures(root), fileOf(root, 'item_feature'), { code: 'nonFinite', column: 'img_emb_CLIPRN50', row: 20, value: 'NaN' });
  });

  it('label 2 (int) and 0.5 (float)', async () => {
    let root = bad((t) => (t.train.label.values[21] = 2));
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'badLabel', column: 'label', row: 21, value: 2, says: /not 0 or 1/ });
    root = bad((t) => {
      t.train.label.dtype = pl.Float64;
      t.train.label.values[4] = 0.5;
    });
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'badLabel', column: 'label', row: 4, value: 0.5 });
  });
});

describe('tables', () => {
  it('empty split and empty item table', async () => {
    let root = writeFixture({ options: { rows: { valid: 0 } }, only: ['valid', 'item_info'] });
    await expectDataError(loadSplit(root, 'valid'), fileOf(root, 'valid'), { code: 'emptySplit', says: /valid split has no rows/ });
    root = bad((t) => {
      for (const c of Object.values(t.item_emb)) c.values = [];
    }, ['item_emb', 'item_info']);
    await expectDataError(loadItemEmbeddings(root), fileOf(root, 'item_emb'), { code: 'emptyTable' });
  });

  it('duplicate item_id in item_feature and item_emb names both rows', async () => {
    let root = bad((t) => (t.item_feature.item_id.values[7] = 3), ['item_feature', 'item_info']);
    await expectDataError(loadItemFeatures(root), fileOf(root, 'item_feature'), { code: 'duplicateKey', column: 'item_id', row: 7, value: 3, says: /repeats row 2/ });
    root = bad((t) => (t.item_emb.item_id.values[39] = 1), ['item_emb', 'item_info']);
    await expectDataError(loadItemEmbeddings(root), fileOf(root, 'item_emb'), { code: 'duplicateKey', column: 'item_id', row: 39, value: 1 });
  });

  it('item_info whose item_id is not the row index (no padding row)', async () => {
    const root = bad((t) => {
      for (const c of Object.values(t.item_info)) c.values = c.values.slice(1);
    }, ['item_info']);
    await expectDataError(loadItemInfo(root, { vocab: { numItems: 40, numTags: 15, numUsers: 25 } }), fileOf(root, 'item_info'), {
      code: 'badRowIndex',
      column: 'item_id',
      row: 0,
      value: 1,
      says: /row 0 is the padding row/,
    });
  });
});

describe('nulls', () => {
  it.each([
    ['a null user_id', (t: FixtureTables): void => void (t.train.user_id.values[6] = null), 'user_id', 6, /null value/],
    ['a null label', (t: FixtureTables): void => void (t.train.label.values[10] = null), 'label', 10, /null value/],
    ['a null history list', (t: FixtureTables): void => void (t.train.item_seq.values[19] = null), 'item_seq', 19, /null list/],
    ['a null inside a history', (t: FixtureTables): void => void ((t.train.item_seq.values as unknown[][])[23][98] = null), 'item_seq', 23, /null element at list position 98/],
  ] as const)('%s', async (_what, edit, column, row, says) => {
    const root = bad(edit);
    await expectDataError(loadSplit(root, 'train'), fileOf(root, 'train'), { code: 'nullValue', column, row, says });
  });

  it('a null inside an embedding', async () => {
    const root = bad((t) => ((t.item_info.item_emb_d128.values as unknown[][])[2][0] = null), ['item_info']);
    await expectDataError(loadItemInfo(root), fileOf(root, 'item_info'), { code: 'nullValue', column: 'item_emb_d128', row: 2 });
  });
});

describe('checkIntRange bounds', () => {
  it.each([
    [[1, 2, 3], { min: 1, max: 3 }, null],
    [[1, 0, 3], { min: 1, max: 3 }, 1],
    [[1, 0, 3], { min: 1, max: 3, allowZero: true }, null],
    [[-5, 2], { min: 0 }, 0],
    [[2147483647, -2147483648], {}, null],
    [[5, -1], { max: 5 }, null],
    [[5, 6], { max: 5 }, 1],
    [[3, -2147483648], { min: -3 }, 1],
    [[0, -1], { min: 0, max: 9, allowZero: true }, 1],
  ] as const)('%j within %j: first offending index %s', (values, bounds, want) => {
    let got: number | null = null;
    try {
      checkIntRange({ file: 'f', column: 'c' }, Int32Array.from(values), bounds);
    } catch (e) {
      got = (e as DataError).row ?? null;
    }
    expect(got).toBe(want);
  });
});
