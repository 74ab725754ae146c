/**
 * Spec-driven column readers: one parquet column → one typed array (or flat matrix / CSR), with the value checks
 * of `validate.ts` applied on the way.
 *
 * Memory: list columns are cast to 32-bit and flattened inside polars while streaming (the file's int64 never
 * materialises in full), then copied out slice by slice into the preallocated result, releasing the temporaries in
 * between; so the peak is about the result plus one 32-bit copy of the column, not int64 + int32 + JS copies.
 */
import pl from 'nodejs-polars';
import type { DataFrame, Expr, Series } from 'nodejs-polars';
import type { ColumnSpec, FloatMatrix, IntMatrix } from './schema';
import { DataError, showValue } from './errors';
import { type ParquetTable, readColumns, readExprs } from './parquet';
import { releaseMemory } from '../util/memory';
import { type CheckSite, checkFinite, checkIntRange, checkLabels, isIntegerDtype, listDtypeInfo } from './validate';

/** Values copied out of polars per slice: 8M (32 MB) keeps the per-slice temporaries small. */
const SLICE_VALUES = 1 << 23;
/** Values copied between two `releaseMemory` calls (each costs two full GCs): 32M, i.e. ≤ 256 MB of garbage. */
const RELEASE_VALUES = 1 << 25;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function firstTrue(mask: Series): number {
  const idx = mask.argTrue();
  return Number(idx.slice(0, 1).toArray()[0]);
}

function nullError(table: ParquetTable, column: string, row: number, what = 'null value'): DataError {
  return new DataError({ code: 'nullValue', file: table.file, column, row, value: 'null', detail: `${what} (nulls are not allowed here)` });
}

function boundsOf(spec: ColumnSpec): { min?: number; max?: number } {
  const t = spec.type;
  return t.kind === 'int' || t.kind === 'intList' ? { min: t.min, max: t.max } : {};
}

// ---------------------------------------------------------------------------------------------------------------
// Scalar columns (read together in one frame, then converted one at a time).
// ---------------------------------------------------------------------------------------------------------------

/** Reads the named scalar columns as stored, in one pass over the file. */
export function readScalarFrame(table: ParquetTable, specs: ColumnSpec[]): DataFrame {
  return readColumns(table, specs.map((s) => s.name));
}

/** An integer column → Int32Array; nulls and values beyond 32 bits are errors; range-checked if `validate`. */
export function intColumn(table: ParquetTable, spec: ColumnSpec, frame: DataFrame, validate: boolean): Int32Array {
  const s = frame.getColumn(spec.name);
  if (s.nullCount() > 0) throw nullError(table, spec.name, firstTrue(s.isNull()));
  const cast = s.dtype.variant === 'Int32' ? s : s.cast(pl.Int32);
  if (cast.nullCount() > 0) {
    // A non-strict cast turns values that do not fit into nulls.
    const row = firstTrue(cast.isNull());
    const value = showValue(s.slice(row, 1).toArray()[0]);
    throw new DataError({
      code: 'outOfRange',
      file: table.file,
      column: spec.name,
      row,
      value,
      detail: `value ${value} does not fit in a 32-bit integer`,
    });
  }
  const data = cast.toTypedArray() as Int32Array;
  if (validate) checkIntRange({ file: table.file, column: spec.name }, data, boundsOf(spec));
  return data;
}

/** A 0/1 label stored as int, float (exactly 0.0/1.0) or bool → Uint8Array. */
export function labelColumn(table: ParquetTable, spec: ColumnSpec, frame: DataFrame, validate: boolean): Uint8Array {
  const s = frame.getColumn(spec.name);
  if (s.nullCount() > 0) throw nullError(table, spec.name, firstTrue(s.isNull()));
  const site: CheckSite = { file: table.file, column: spec.name };
  if (s.dtype.variant === 'Bool') return s.cast(pl.UInt8).toTypedArray() as Uint8Array;
  // Float64 holds every int label exactly, and a huge int stays huge (so it is reported, not wrapped).
  const values = s.cast(pl.Float64).toTypedArray() as Float64Array;
  if (validate) checkLabels(site, values);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] === 1 ? 1 : 0;
  return out;
}

/** A string column → string[] (null titles become ''). */
export function stringColumn(spec: ColumnSpec, frame: DataFrame): string[] {
  const s = frame.getColumn(spec.name);
  const values = (s.dtype.variant === 'String' ? s : s.cast(pl.String)).toArray() as (string | null)[];
  return values.map((v) => v ?? '');
}

// ---------------------------------------------------------------------------------------------------------------
// List columns.
// ---------------------------------------------------------------------------------------------------------------

type Elem = 'int32' | 'float32';

function innerDtype(elem: Elem) {
  return elem === 'int32' ? pl.Int32 : pl.Float32;
}

/** Reads one list column cast to List(Int32|Float32) by polars while streaming; `transform` edits the list expr. */
function readListColumn(table: ParquetTable, spec: ColumnSpec, elem: Elem, transform?: (e: Expr) => Expr): Series {
  let expr = pl.col(spec.name).cast(pl.List(innerDtype(elem)));
  if (transform !== undefined) expr = transform(expr);
  const frame = readExprs(table, [expr.alias(spec.name)], spec.name);
  return frame.getColumn(spec.name);
}

/** Per-row list lengths (null lists count 0), as Int32. */
function listLengths(s: Series): Int32Array {
  const frame = pl.DataFrame([s]).select(pl.col(s.name).list.lengths().fillNull(0).cast(pl.Int32));
  return frame.getColumn(s.name).toTypedArray() as Int32Array;
}

/**
 * A null showed up after the 32-bit cast: re-reads the stored row to say whether the file holds a null there or a
 * value that does not fit in 32 bits. Always throws.
 */
function explainNull(table: ParquetTable, spec: ColumnSpec, row: number): never {
  const stored = readColumns(table, [spec.name], { offset: row, length: 1 }).getColumn(spec.name);
  if (stored.nullCount() > 0) throw nullError(table, spec.name, row, 'null list');
  const elements = stored.explode().toArray() as unknown[];
  const at = elements.findIndex((v) => v === null || v === undefined);
  if (at >= 0) throw nullError(table, spec.name, row, `null element at list position ${at}`);
  const dtype = listDtypeInfo(stored.dtype)?.inner;
  if (dtype !== undefined && isIntegerDtype(dtype)) {
    const big = elements.findIndex((v) => Number(v) < INT32_MIN || Number(v) > INT32_MAX);
    if (big >= 0) {
      const value = showValue(elements[big]);
      throw new DataError({
        code: 'outOfRange',
        file: table.file,
        column: spec.name,
        row,
        value,
        detail: `value ${value} at list position ${big} does not fit in a 32-bit integer`,
      });
    }
  }
  throw nullError(table, spec.name, row, 'unreadable element');
}

/** Converts one exploded slice to a typed array, turning nulls into a located error. */
function sliceValues(table: ParquetTable, spec: ColumnSpec, flat: Series, rowOf: (i: number) => number): Int32Array | Float32Array {
  if (flat.nullCount() > 0) explainNull(table, spec, rowOf(firstTrue(flat.isNull())));
  return flat.toTypedArray() as Int32Array | Float32Array;
}

interface FixedListArgs {
  spec: ColumnSpec;
  elem: Elem;
  /** Stored list length every row must have. */
  length: number;
  /** Positions kept per row: the last (newest, rightmost) `keep`. */
  keep: number;
  validate: boolean;
}

/**
 * Finds the first row of a fixed-length list column that is null or of another length, and throws its error.
 * Error path only: it reads the column again.
 */
function explainLengths(table: ParquetTable, spec: ColumnSpec, elem: Elem, length: number): void {
  const list = pl.col(spec.name).cast(pl.List(innerDtype(elem)));
  const frame = readExprs(table, [list.isNull().alias('isNull'), list.list.lengths().fillNull(0).cast(pl.Int32).alias('length')], spec.name);
  const isNull = frame.getColumn('isNull');
  if (isNull.sum() > 0) throw nullError(table, spec.name, firstTrue(isNull), 'null list');
  const lengths = frame.getColumn('length').toTypedArray() as Int32Array;
  for (let r = 0; r < lengths.length; r++) {
    if (lengths[r] !== length) {
      throw new DataError({
        code: 'wrongListLength',
        file: table.file,
        column: spec.name,
        row: r,
        value: lengths[r],
        detail: `list length ${lengths[r]}, expected ${length}`,
      });
    }
  }
}

/**
 * A fixed-length list column → flat [rows × keep] matrix of its last `keep` positions.
 *
 * Inside polars, while streaming: cast to List(Int32|Float32), then to Array(_, length) — a zero-copy cast that
 * fails unless every row has exactly `length` elements — then explode, so polars hands over the flat values and
 * never holds the file's int64 or a second copy. A failed cast or a length mismatch sends us to `explainLengths`.
 */
async function fixedList(table: ParquetTable, args: FixedListArgs): Promise<Int32Array | Float32Array> {
  const { spec, elem, length, keep } = args;
  const inner = innerDtype(elem);
  const expr = pl.col(spec.name).cast(pl.List(inner)).cast(pl.FixedSizeList(inner, length)).explode().alias(spec.name);
  let flat: Series | null;
  try {
    flat = readExprs(table, [expr], spec.name).getColumn(spec.name);
  } catch (err) {
    if (err instanceof DataError && err.code === 'unreadable') explainLengths(table, spec, elem, length);
    throw err;
  }
  const rows = table.rows;
  // A null list explodes to a single null: the total tells.
  if (flat.length !== rows * length) {
    explainLengths(table, spec, elem, length);
    throw new DataError({ code: 'wrongListLength', file: table.file, column: spec.name, detail: `${flat.length} values, expected ${rows} rows × ${length}` });
  }
  const out = elem === 'int32' ? new Int32Array(rows * keep) : new Float32Array(rows * keep);
  const step = Math.max(1, Math.floor(SLICE_VALUES / length));
  const drop = length - keep;
  let sinceRelease = 0;
  for (let r0 = 0; r0 < rows; r0 += step) {
    const n = Math.min(step, rows - r0);
    const rowOf = (i: number) => r0 + Math.floor(i / length);
    const values = sliceValues(table, spec, flat.slice(r0 * length, n * length), rowOf);
    if (args.validate) checkValues({ file: table.file, column: spec.name, rowOf, positionOf: (i) => i % length }, spec, values);
    if (drop === 0) {
      out.set(values, r0 * keep);
    } else {
      for (let r = 0; r < n; r++) out.set(values.subarray(r * length + drop, (r + 1) * length), (r0 + r) * keep);
    }
    sinceRelease += n * length;
    if (sinceRelease >= RELEASE_VALUES) {
      await releaseMemory();
      sinceRelease = 0;
    }
  }
  flat = null;
  await releaseMemory();
  return out;
}

function checkValues(site: CheckSite, spec: ColumnSpec, values: Int32Array | Float32Array): void {
  if (values instanceof Float32Array) checkFinite(site, values);
  else checkIntRange(site, values, { ...boundsOf(spec), allowZero: true });
}

/** A fixed-length integer list column (left-padded sequences, tags) → IntMatrix of the last `keep` positions. */
export async function intListMatrix(table: ParquetTable, spec: ColumnSpec, keep: number, validate: boolean): Promise<IntMatrix> {
  const length = spec.type.kind === 'intList' ? spec.type.length : undefined;
  if (length === undefined) throw new Error(`column ${spec.name} is not a fixed-length int list in the schema`);
  const data = (await fixedList(table, { spec, elem: 'int32', length, keep, validate })) as Int32Array;
  return { data, rows: table.rows, cols: keep };
}

/** A fixed-length float list column (embeddings) → FloatMatrix [rows × length]; NaN/Inf rejected if `validate`. */
export async function floatListMatrix(table: ParquetTable, spec: ColumnSpec, validate: boolean): Promise<FloatMatrix> {
  if (spec.type.kind !== 'floatList') throw new Error(`column ${spec.name} is not a float list in the schema`);
  const length = spec.type.length;
  const data = (await fixedList(table, { spec, elem: 'float32', length, keep: length, validate })) as Float32Array;
  return { data, rows: table.rows, cols: length };
}

/** A variable-length integer list column → CSR. Null lists read as empty. */
export async function intListCsr(
  table: ParquetTable,
  spec: ColumnSpec,
  options: { dropZeros: boolean; validate: boolean },
): Promise<{ offsets: Int32Array; values: Int32Array }> {
  // Zeros are dropped inside polars (padding never reaches JS); nulls are kept so that they are reported.
  const transform = options.dropZeros
    ? (e: Expr) => e.list.eval(pl.element().filter(pl.element().neq(0).fillNull(true)))
    : undefined;
  let s: Series | null = readListColumn(table, spec, 'int32', transform);
  const rows = s.length;
  const lengths = listLengths(s);
  const offsets = new Int32Array(rows + 1);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    total += lengths[r];
    if (total > INT32_MAX) {
      throw new DataError({ code: 'outOfRange', file: table.file, column: spec.name, row: r, detail: 'more than 2^31 list values in total' });
    }
    offsets[r + 1] = total;
  }
  const values = new Int32Array(total);
  // Maps an index into `values` to its row: the last r with offsets[r] <= i (non-empty rows only hold values).
  const rowOfValue = (i: number): number => {
    let lo = 0;
    let hi = rows - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (offsets[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const avg = Math.max(1, total / Math.max(1, rows));
  const step = Math.max(1, Math.floor(SLICE_VALUES / avg));
  for (let r0 = 0; r0 < rows; r0 += step) {
    const n = Math.min(step, rows - r0);
    const base = offsets[r0];
    if (offsets[r0 + n] === base) continue;
    let part = s.slice(r0, n);
    // explode() turns an empty or null list into one null: keep only rows that hold values.
    let hasEmpty = false;
    for (let r = r0; r < r0 + n; r++) if (lengths[r] === 0) hasEmpty = true;
    if (hasEmpty) {
      const keep = Array.from(lengths.subarray(r0, r0 + n), (len) => len > 0);
      part = part.filter(pl.Series('keep', keep, pl.Bool));
    }
    const rowOf = (i: number) => rowOfValue(base + i);
    const chunk = sliceValues(table, spec, part.explode(), rowOf) as Int32Array;
    if (options.validate) {
      // Positions count the values loaded (after dropping padding zeros where asked).
      const site: CheckSite = { file: table.file, column: spec.name, rowOf, positionOf: (i) => base + i - offsets[rowOf(i)] };
      checkIntRange(site, chunk, { ...boundsOf(spec), allowZero: true });
    }
    values.set(chunk, base);
    await releaseMemory();
  }
  s = null;
  await releaseMemory();
  return { offsets, values };
}
