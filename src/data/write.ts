/**
 * Writing typed columns to parquet through nodejs-polars, with the dtypes a pandas/pyarrow writer would give:
 * int64 ids, levels and labels, `list<int64>` sequences and tags, `list<float32>` embeddings, UTF-8 strings.
 *
 * Large tables are written from chunks: each chunk becomes a small DataFrame (flat typed array → Series →
 * reshape to a fixed-size list → cast to List), the chunks are concatenated without re-chunking and written once.
 * Native memory of the temporaries is released between chunks (see `releaseMemory`). Output bytes depend only on
 * the data and the chunking, so equal inputs give identical files.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import pl, { type DataType } from 'nodejs-polars';
import { MmctrError } from '../errors';
import { releaseMemory } from '../util/memory';

/** One column of a chunk, in the layout the generator produces. */
export type ColumnData =
  /** Integers written as int64. */
  | { name: string; kind: 'int64'; values: Int32Array | Uint8Array | Float64Array }
  /** Floats written as float32 or float64. */
  | { name: string; kind: 'float32' | 'float64'; values: Float32Array | Float64Array }
  | { name: string; kind: 'string'; values: string[] }
  /** Fixed-length integer lists (row r = values[r*width .. (r+1)*width)) written as list<int64>. */
  | { name: string; kind: 'int64List'; values: Int32Array; width: number }
  /** Variable-length integer lists in CSR form (row r = values[offsets[r] .. offsets[r+1])) written as list<int64>. */
  | { name: string; kind: 'int64VarList'; offsets: Int32Array; values: Int32Array }
  /** Fixed-length float lists written as list<float32>. */
  | { name: string; kind: 'float32List'; values: Float32Array; width: number };

export class WriteError extends MmctrError {}

export type ParquetCompression = 'uncompressed' | 'snappy' | 'zstd' | 'lz4' | 'gzip';

export interface WriteTableOptions {
  /** Parquet compression. Default 'zstd' (polars' default when writing uncompressed is 400× larger here). */
  compression?: ParquetCompression;
}

export interface WriteTableResult {
  path: string;
  rows: number;
  bytes: number;
}

function rowsOf(c: ColumnData): number {
  switch (c.kind) {
    case 'int64':
    case 'float32':
    case 'float64':
    case 'string':
      return c.values.length;
    case 'int64List':
    case 'float32List':
      if (c.width <= 0 || c.values.length % c.width !== 0) {
        throw new WriteError(`column ${c.name}: ${c.values.length} values do not split into rows of ${c.width}`);
      }
      return c.values.length / c.width;
    case 'int64VarList':
      return c.offsets.length - 1;
    default: {
      const never: never = c;
      throw new WriteError(`unknown column kind ${String((never as ColumnData).kind)}`);
    }
  }
}

function fixedList(name: string, flat: pl.Series, width: number, inner: DataType): pl.Series {
  return pl
    .DataFrame([flat.rename(name)])
    .select(pl.col(name).reshape([-1, width]).cast(pl.List(inner)))
    .getColumn(name);
}

/** A polars Series for one column. */
export function columnToSeries(c: ColumnData): pl.Series {
  switch (c.kind) {
    case 'int64':
      return c.values instanceof Float64Array
        ? pl.Series(c.name, c.values).cast(pl.Int64)
        : pl.Series(c.name, c.values instanceof Int32Array ? c.values : Int32Array.from(c.values)).cast(pl.Int64);
    case 'float32':
      return pl.Series(c.name, c.values instanceof Float32Array ? c.values : Float32Array.from(c.values));
    case 'float64':
      return pl.Series(c.name, c.values instanceof Float64Array ? c.values : Float64Array.from(c.values));
    case 'string':
      return pl.Series(c.name, c.values, pl.Utf8);
    case 'int64List':
      return fixedList(c.name, pl.Series(c.name, c.values).cast(pl.Int64), c.width, pl.Int64);
    case 'float32List':
      return fixedList(c.name, pl.Series(c.name, c.values), c.width, pl.Float32);
    case 'int64VarList': {
      const n = c.offsets.length - 1;
      if (n === 0) return fixedList(c.name, pl.Series(c.name, new Int32Array(0)).cast(pl.Int64), 1, pl.Int64);
      const rows: number[][] = new Array(n);
      for (let r = 0; r < n; r++) rows[r] = Array.from(c.values.subarray(c.offsets[r], c.offsets[r + 1]));
      return pl.Series(c.name, rows, pl.List(pl.Int64));
    }
    default: {
      const never: never = c;
      throw new WriteError(`unknown column kind ${String((never as ColumnData).kind)}`);
    }
  }
}

/** A DataFrame from columns of equal row counts (in the given order). */
export function columnsToFrame(cols: ColumnData[]): pl.DataFrame {
  if (cols.length === 0) throw new WriteError('no columns to write');
  const n = rowsOf(cols[0]);
  for (const c of cols) {
    const r = rowsOf(c);
    if (r !== n) throw new WriteError(`column ${c.name} has ${r} rows, column ${cols[0].name} has ${n}`);
  }
  return pl.DataFrame(cols.map(columnToSeries));
}

/**
 * Writes one parquet file from chunks of columns (each chunk: the same columns, any row count).
 * `chunks` may be a generator, so that only one chunk of typed arrays exists at a time.
 */
export async function writeTable(
  file: string,
  chunks: Iterable<ColumnData[]> | AsyncIterable<ColumnData[]>,
  opts: WriteTableOptions = {},
): Promise<WriteTableResult> {
  const frames: pl.DataFrame[] = [];
  let rows = 0;
  for await (const cols of chunks) {
    const df = columnsToFrame(cols);
    if (frames.length > 0 && df.columns.join() !== frames[0].columns.join()) {
      throw new WriteError(`${file}: chunk ${frames.length} has columns ${df.columns.join()} not ${frames[0].columns.join()}`);
    }
    rows += df.height;
    frames.push(df);
    await releaseMemory();
  }
  if (frames.length === 0) throw new WriteError(`${file}: no chunks to write`);
  mkdirSync(path.dirname(file), { recursive: true });
  let all: pl.DataFrame | null = frames.length === 1 ? frames[0] : pl.concat(frames, { rechunk: false, how: 'vertical' });
  frames.length = 0;
  all.writeParquet(file, { compression: opts.compression ?? 'zstd' });
  all = null;
  await releaseMemory();
  return { path: file, rows, bytes: statSync(file).size };
}
