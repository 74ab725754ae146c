/**
 * Validation of MicroLens files, driven by the column specs of `schema.ts` (`microlensTables(vocab)`).
 *
 * Two levels, both used by the loaders:
 * - structure, from the parquet schema alone (`checkTableColumns`): required columns present, dtype compatible
 *   with the column kind. Accepts what pandas/pyarrow/polars write: every integer width, labels as int, float or
 *   bool, List / LargeList / fixed-size Array, Float32 or Float64 embedding elements;
 * - values, on the extracted typed arrays (`checkIntRange`, `checkFinite`, `checkLabels`, `checkUniqueKey`,
 *   `checkRowIndex`): each reports the first offending row and its value.
 */
import type { DataType } from 'nodejs-polars';
import type { ColumnKind, ColumnSpec, TableSpec } from './schema';
import { DataError, showValue } from './errors';

const INTEGER_DTYPES = new Set(['Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64']);
const FLOAT_DTYPES = new Set(['Float32', 'Float64']);
const STRING_DTYPES = new Set(['String', 'Utf8', 'Categorical']);

export function isIntegerDtype(d: DataType): boolean {
  return INTEGER_DTYPES.has(d.variant);
}

export function isFloatDtype(d: DataType): boolean {
  return FLOAT_DTYPES.has(d.variant);
}

/** Inner dtype of a List (LargeList reads as List in polars) or fixed-size Array, and the Array's fixed size. */
export function listDtypeInfo(d: DataType): { inner: DataType; fixedSize: number | null } | null {
  // `inner` is public on List ([inner]) and FixedSizeList ([inner, size]) but not declared on the base class.
  const inner = (d as unknown as { inner: unknown[] }).inner;
  if (d.variant === 'List') return { inner: inner[0] as DataType, fixedSize: null };
  if (d.variant === 'FixedSizeList') return { inner: inner[0] as DataType, fixedSize: inner[1] as number };
  return null;
}

/** Short dtype name for messages: `Int64`, `List(Float64)`, `Array(Int64, 100)`. */
export function dtypeName(d: DataType): string {
  const list = listDtypeInfo(d);
  if (list === null) return d.variant;
  return list.fixedSize === null ? `List(${dtypeName(list.inner)})` : `Array(${dtypeName(list.inner)}, ${list.fixedSize})`;
}

function describeKind(kind: ColumnKind): string {
  switch (kind.kind) {
    case 'int':
      return 'an integer dtype';
    case 'label':
      return 'an integer, float (values 0/1) or boolean dtype';
    case 'string':
      return 'a string dtype';
    case 'intList':
      return `a list of integers${kind.length === undefined ? '' : ` of length ${kind.length}`}`;
    case 'floatList':
      return `a list of floats of length ${kind.length}`;
    default: {
      const never: never = kind;
      return String(never);
    }
  }
}

/** Checks that one column's dtype can hold what its spec says (the values are checked later). */
export function checkColumnDtype(file: string, spec: ColumnSpec, dtype: DataType): void {
  const kind = spec.type;
  const wrong = (): never => {
    throw new DataError({
      code: 'wrongDtype',
      file,
      column: spec.name,
      value: dtypeName(dtype),
      detail: `dtype ${dtypeName(dtype)}, expected ${describeKind(kind)}`,
    });
  };
  switch (kind.kind) {
    case 'int':
      if (!isIntegerDtype(dtype)) wrong();
      return;
    case 'label':
      if (!isIntegerDtype(dtype) && !isFloatDtype(dtype) && dtype.variant !== 'Bool') wrong();
      return;
    case 'string':
      if (!STRING_DTYPES.has(dtype.variant)) wrong();
      return;
    case 'intList':
    case 'floatList': {
      const list = listDtypeInfo(dtype);
      if (list === null) return wrong();
      const innerOk = kind.kind === 'intList' ? isIntegerDtype(list.inner) : isFloatDtype(list.inner);
      if (!innerOk) wrong();
      if (list.fixedSize !== null && kind.length !== undefined && list.fixedSize !== kind.length) {
        throw new DataError({
          code: 'wrongListLength',
          file,
          column: spec.name,
          row: 0,
          value: list.fixedSize,
          detail: `list length ${list.fixedSize} (fixed-size ${dtypeName(dtype)}), expected ${kind.length}`,
        });
      }
      return;
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown column kind ${String(never)}`);
    }
  }
}

/**
 * Structure of a table from its schema: every required column present, every present spec'd column of a
 * compatible dtype. Extra columns (e.g. a pandas index) are ignored. Returns the spec'd columns present.
 */
export function checkTableColumns(file: string, spec: TableSpec, schema: Record<string, DataType>): ColumnSpec[] {
  const present: ColumnSpec[] = [];
  for (const col of spec.columns) {
    const dtype = schema[col.name];
    if (dtype === undefined) {
      if (col.optional === true) continue;
      const have = Object.keys(schema);
      throw new DataError({
        code: 'missingColumn',
        file,
        column: col.name,
        detail: `required column is missing (the file has: ${have.length === 0 ? 'no columns' : have.join(', ')})`,
      });
    }
    checkColumnDtype(file, col, dtype);
    present.push(col);
  }
  return present;
}

/** Where a value check runs: file, column, and how a flat index maps to a file row. */
export interface CheckSite {
  file: string;
  column: string;
  /** Maps an index into the checked array to its 0-based file row. Default: identity. */
  rowOf?: (index: number) => number;
  /** For list columns: maps an index to its position inside the row's list (named in the message). */
  positionOf?: (index: number) => number;
}

function rowAt(site: CheckSite, index: number): number {
  return site.rowOf === undefined ? index : site.rowOf(index);
}

function at(site: CheckSite, index: number): string {
  return site.positionOf === undefined ? '' : ` at list position ${site.positionOf(index)}`;
}

/** Inclusive bounds; `allowZero` accepts 0 whatever the bounds (0 is padding in lists). */
export interface IntBounds {
  min?: number;
  max?: number;
  allowZero?: boolean;
}

/** First value outside `[min, max]` → `outOfRange`. */
export function checkIntRange(site: CheckSite, data: Int32Array, bounds: IntBounds): void {
  const lo = bounds.min ?? -2147483648;
  const hi = bounds.max ?? 2147483647;
  const allowZero = bounds.allowZero === true;
  // One unsigned comparison tests both bounds: (v - lo) wraps to a huge value when v < lo.
  const span = hi - lo;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((v - lo) >>> 0 > span && !(allowZero && v === 0)) {
      const range = `${bounds.min ?? '-inf'}..${bounds.max ?? 'inf'}`;
      throw new DataError({
        code: 'outOfRange',
        file: site.file,
        column: site.column,
        row: rowAt(site, i),
        value: v,
        detail: `value ${v}${at(site, i)} is out of range ${range}${allowZero && lo > 0 ? ' (or 0 for padding)' : ''}`,
      });
    }
  }
}

/** First NaN or ±Infinity → `nonFinite`. */
export function checkFinite(site: CheckSite, data: Float32Array | Float64Array): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // v - v is NaN exactly for NaN and ±Infinity; cheaper than Number.isFinite in the hot loop.
    if (v - v !== 0) {
      throw new DataError({
        code: 'nonFinite',
        file: site.file,
        column: site.column,
        row: rowAt(site, i),
        value: showValue(v),
        detail: `value ${showValue(v)}${at(site, i)} is not finite`,
      });
    }
  }
}

/** First label that is not exactly 0 or 1 → `badLabel`. */
export function checkLabels(site: CheckSite, data: Int32Array | Float64Array | Uint8Array): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== 0 && v !== 1) {
      throw new DataError({
        code: 'badLabel',
        file: site.file,
        column: site.column,
        row: rowAt(site, i),
        value: showValue(v),
        detail: `label ${showValue(v)} is not 0 or 1`,
      });
    }
  }
}

/** First repeated key → `duplicateKey` (names both rows). */
export function checkUniqueKey(site: CheckSite, keys: Int32Array): void {
  let min = 0;
  let max = 0;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] < min) min = keys[i];
    if (keys[i] > max) max = keys[i];
  }
  const fail = (row: number, first: number): never => {
    throw new DataError({
      code: 'duplicateKey',
      file: site.file,
      column: site.column,
      row,
      value: keys[row],
      detail: `value ${keys[row]} repeats row ${first} (keys must be unique)`,
    });
  };
  if (max - min < 1 << 27) {
    // Dense table of first rows (+1; 0 = unseen): ids are small non-negative ints in this data.
    const firstRow = new Int32Array(max - min + 1);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] - min;
      if (firstRow[k] !== 0) fail(i, firstRow[k] - 1);
      firstRow[k] = i + 1;
    }
  } else {
    const seen = new Map<number, number>();
    for (let i = 0; i < keys.length; i++) {
      const first = seen.get(keys[i]);
      if (first !== undefined) fail(i, first);
      seen.set(keys[i], i);
    }
  }
}

/** item_info: `item_id` must equal the row index (row 0 is the padding row) → `badRowIndex`. */
export function checkRowIndex(site: CheckSite, ids: Int32Array): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== i) {
      throw new DataError({
        code: 'badRowIndex',
        file: site.file,
        column: site.column,
        row: i,
        value: ids[i],
        detail: `value ${ids[i]}, expected ${i}: item_id must equal the row index (row 0 is the padding row)`,
      });
    }
  }
}

/** A table without rows → `emptySplit` (train/valid/test) or `emptyTable`. */
export function checkNotEmpty(file: string, spec: TableSpec, rows: number): void {
  if (rows > 0) return;
  const split = spec.name === 'train' || spec.name === 'valid' || spec.name === 'test';
  throw new DataError({
    code: split ? 'emptySplit' : 'emptyTable',
    file,
    detail: split ? `the ${spec.name} split has no rows` : `the ${spec.name} table has no rows`,
  });
}
