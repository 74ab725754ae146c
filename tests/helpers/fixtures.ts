/**
 * Tiny MicroLens-shaped parquet files for tests, written through nodejs-polars into a temp dir.
 *
 * `fixtureTables()` builds valid data as plain JS columns ({ values, dtype }) with the dtypes pandas/pyarrow would
 * write (int64 ids and levels, list<int64> sequences, list<float32> embeddings); a test edits one thing — a
 * value, a dtype, a whole column — then `writeFixture()` writes the files. Column names, list lengths and
 * vocabulary conventions come from src/data/schema.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pl from 'nodejs-polars';
import type { DataType, Series } from 'nodejs-polars';
import { ITEM_EMB_COLUMNS, MICROLENS_DIMS, TABLE_NAMES, microlensTables, type TableName, type Vocab } from '../../src/data/schema';

/** One column to write: values (scalars, or arrays for list dtypes; null allowed) and the dtype to write. */
export interface FixtureColumn {
  values: unknown[];
  dtype: DataType;
}

/** Columns in file order. */
export type FixtureTable = Record<string, FixtureColumn>;
export type FixtureTables = Record<TableName, FixtureTable>;

export interface FixtureOptions {
  /** Item vocabulary: ids 1..items (item_info has items + 1 rows). Default 40. */
  items?: number;
  /** Tag vocabulary 1..tags. Default 15. */
  tags?: number;
  /** User ids 1..users. Default 25. */
  users?: number;
  /** Rows of train / valid / test / item_seq. Defaults 48 / 16 / 24 / 30. */
  rows?: Partial<Record<'train' | 'valid' | 'test' | 'item_seq', number>>;
  /** Give test.parquet a `label` column. Default false (the real test file most likely has none). */
  testLabel?: boolean;
  /** PRNG seed. Default 7. */
  seed?: number;
}

/** The vocabulary a fixture built with these options satisfies (pass it as `LoadOptions.vocab`). */
export function fixtureVocab(options: FixtureOptions = {}): Vocab {
  return { numItems: options.items ?? 40, numTags: options.tags ?? 15, numUsers: options.users ?? 25 };
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const INT = pl.Int64;
const INT_LIST = pl.List(pl.Int64);
const FLOAT_LIST = pl.List(pl.Float32);

/** Valid data for all seven tables. */
export function fixtureTables(options: FixtureOptions = {}): FixtureTables {
  const vocab = fixtureVocab(options);
  const rand = rng(options.seed ?? 7);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const vec = (dim: number) => Array.from({ length: dim }, () => Math.round((rand() * 2 - 1) * 1000) / 1000);
  const stored = MICROLENS_DIMS.storedSeqLen;
  // Left-padded history, newest item rightmost; row 0 uses the whole stored length.
  const history = (row: number) => {
    const len = row === 0 ? stored : int(0, 12);
    return [...Array<number>(stored - len).fill(0), ...Array.from({ length: len }, () => int(1, vocab.numItems))];
  };
  const interactions = (rows: number, withLabel: boolean, withId: boolean): FixtureTable => {
    const t: FixtureTable = {};
    if (withId) t.ID = { values: Array.from({ length: rows }, (_, i) => i), dtype: INT };
    t.user_id = { values: Array.from({ length: rows }, () => int(1, vocab.numUsers)), dtype: INT };
    t.item_seq = { values: Array.from({ length: rows }, (_, r) => history(r)), dtype: INT_LIST };
    t.item_id = { values: Array.from({ length: rows }, () => int(1, vocab.numItems)), dtype: INT };
    t.likes_level = { values: Array.from({ length: rows }, () => int(0, 9)), dtype: INT };
    t.views_level = { values: Array.from({ length: rows }, () => int(0, 9)), dtype: INT };
    if (withLabel) t.label = { values: Array.from({ length: rows }, (_, r) => (r % 4 === 0 ? 1 : 0)), dtype: INT };
    return t;
  };
  const rows = { train: 48, valid: 16, test: 24, item_seq: 30, ...options.rows };
  const items = vocab.numItems;
  const ids = Array.from({ length: items }, (_, i) => i + 1);
  const tags5 = (id: number) => {
    const n = id === 0 ? 0 : 1 + (id % 5);
    return [...Array<number>(5 - n).fill(0), ...Array.from({ length: n }, () => int(1, vocab.numTags))];
  };
  return {
    train: interactions(rows.train, true, false),
    valid: interactions(rows.valid, true, false),
    test: interactions(rows.test, options.testLabel ?? false, true),
    item_info: {
      item_id: { values: Array.from({ length: items + 1 }, (_, i) => i), dtype: INT },
      item_tags: { values: Array.from({ length: items + 1 }, (_, i) => tags5(i)), dtype: INT_LIST },
      item_emb_d128: {
        values: Array.from({ length: items + 1 }, (_, i) => (i === 0 ? Array<number>(MICROLENS_DIMS.itemEmbDim).fill(0) : vec(MICROLENS_DIMS.itemEmbDim))),
        dtype: FLOAT_LIST,
      },
    },
    item_feature: {
      item_id: { values: [...ids], dtype: INT },
      item_title: { values: ids.map((id) => `item ${id} #tag${id % 3}`), dtype: pl.String },
      // Variable length, some empty.
      item_tags: { values: ids.map((id) => Array.from({ length: id % 4 }, () => int(1, vocab.numTags))), dtype: INT_LIST },
      likes_level: { values: ids.map(() => int(0, 9)), dtype: INT },
      views_level: { values: ids.map(() => int(0, 9)), dtype: INT },
      txt_emb_BERT: { values: ids.map(() => vec(MICROLENS_DIMS.textDim)), dtype: FLOAT_LIST },
      img_emb_CLIPRN50: { values: ids.map(() => vec(MICROLENS_DIMS.imageDim)), dtype: FLOAT_LIST },
    },
    item_emb: {
      item_id: { values: [...ids], dtype: INT },
      ...Object.fromEntries(ITEM_EMB_COLUMNS.map((c) => [c, { values: ids.map(() => vec(MICROLENS_DIMS.itemEmbDim)), dtype: FLOAT_LIST }])),
    },
    item_seq: {
      user_id: { values: Array.from({ length: rows.item_seq }, () => int(1, vocab.numUsers)), dtype: INT },
      // Variable length; every third row left-padded with zeros (the loader drops them).
      item_seq: {
        values: Array.from({ length: rows.item_seq }, (_, r) => {
          const seq = Array.from({ length: 3 + (r % 7) }, () => int(1, vocab.numItems));
          return r % 3 === 0 ? [0, 0, ...seq] : seq;
        }),
        dtype: INT_LIST,
      },
    },
  };
}

function isList(d: DataType): boolean {
  return d.variant === 'List' || d.variant === 'FixedSizeList';
}

/** Builds a Series from JS values in a safe carrier dtype, then casts to the dtype asked for. */
export function fixtureSeries(name: string, column: FixtureColumn): Series {
  const { values, dtype } = column;
  if (isList(dtype)) {
    const inner = (dtype as unknown as { inner: DataType[] }).inner[0];
    const floatInner = inner.variant === 'Float32' || inner.variant === 'Float64';
    const stringInner = inner.variant === 'String' || inner.variant === 'Utf8';
    const carrier = pl.List(stringInner ? pl.String : floatInner ? pl.Float64 : pl.Int64);
    // nodejs-polars cannot build an empty list Series from []: build one row and slice it away.
    if (values.length === 0) return pl.Series(name, [[]], carrier).slice(0, 0).cast(dtype);
    return pl.Series(name, values, carrier).cast(dtype);
  }
  const v = dtype.variant;
  const carrier = v === 'String' || v === 'Utf8' || v === 'Categorical' ? pl.String : v === 'Bool' ? pl.Bool : v.startsWith('Float') ? pl.Float64 : pl.Int64;
  return pl.Series(name, values, carrier).cast(dtype);
}

/** Writes the given tables under `root` at their schema paths. */
export function writeTables(root: string, tables: Partial<FixtureTables>): void {
  const specs = microlensTables();
  for (const name of TABLE_NAMES) {
    const table = tables[name];
    if (table === undefined) continue;
    const file = path.join(root, specs[name].path);
    mkdirSync(path.dirname(file), { recursive: true });
    const columns = Object.entries(table).map(([c, col]) => fixtureSeries(c, col));
    pl.DataFrame(columns).writeParquet(file, { compression: 'snappy' });
  }
}

const roots: string[] = [];

/**
 * Writes a fixture into a fresh temp dir and returns its root. `edit` may change the tables first; `only` limits
 * the files written. Call `removeFixtures()` in `afterAll`.
 */
export function writeFixture(
  args: { options?: FixtureOptions; edit?: (tables: FixtureTables) => void; only?: readonly TableName[] } = {},
): string {
  const tables = fixtureTables(args.options);
  args.edit?.(tables);
  const root = mkdtempSync(path.join(os.tmpdir(), 'mmctr-data-'));
  roots.push(root);
  const only = args.only ?? TABLE_NAMES;
  writeTables(root, Object.fromEntries(only.map((n) => [n, tables[n]])));
  return root;
}

export function removeFixtures(): void {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
}
