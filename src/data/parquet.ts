/**
 * The only place that talks to polars for reading: opens a parquet file (existence, footer, schema, row count),
 * reads projected columns (streaming engine), and turns every polars failure into a `DataError` naming the file (the polars error is
 * kept as `cause`, never shown as a raw native stack).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';
import type { DataFrame, DataType, Expr } from 'nodejs-polars';
import type { TableSpec } from './schema';
import { DataError } from './errors';

/** An opened parquet file: its schema and row count are known, nothing else is read yet. */
export interface ParquetTable {
  spec: TableSpec;
  /** `<root>/<spec.path>`, as used in messages. */
  file: string;
  /** Column name → polars dtype, for every column in the file (needed or not). */
  schema: Record<string, DataType>;
  rows: number;
}

/** Runs a polars call; any polars failure becomes `DataError('unreadable')` for `file` (and `column`). */
export function polarsCall<T>(file: string, column: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DataError) throw err;
    const reason = firstLine(err instanceof Error ? err.message : String(err));
    throw new DataError({
      code: 'unreadable',
      file,
      column,
      detail: `cannot be read as parquet (${reason})`,
      cause: err,
    });
  }
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.trim().replace(/^Error:\s*/, '');
}

/** Opens `<root>/<spec.path>`: checks it exists and is a parquet file, reads its schema and row count. */
export function openTable(root: string, spec: TableSpec): ParquetTable {
  const file = path.join(root, spec.path);
  if (!existsSync(file)) {
    throw new DataError({ code: 'missingFile', file, detail: `file not found (expected the ${spec.name} table here)` });
  }
  if (!statSync(file).isFile()) {
    throw new DataError({ code: 'unreadable', file, detail: 'is not a regular file' });
  }
  // nRows: 0 reads the footer only: the schema, without touching data pages.
  const schema = polarsCall(file, undefined, () => pl.readParquet(file, { nRows: 0 }).schema) as Record<string, DataType>;
  const rows = polarsCall(file, undefined, () => {
    const counted = pl.scanParquet(file).select(pl.len().alias('rows')).collectSync();
    return Number(counted.getColumn('rows').toArray()[0]);
  });
  return { spec, file, schema, rows };
}

/**
 * Reads the given expressions (each naming one column of the file) into one frame with the streaming engine,
 * which decodes row group by row group instead of materialising the file's own dtypes first.
 */
export function readExprs(table: ParquetTable, exprs: Expr[], column?: string, slice?: { offset: number; length: number }): DataFrame {
  return polarsCall(table.file, column, () => {
    let lf = pl.scanParquet(table.file);
    if (slice !== undefined) lf = lf.slice(slice.offset, slice.length);
    return lf.select(...exprs).collectSync({ engine: 'streaming' });
  });
}

/** Reads columns as stored (no cast), optionally a row slice. */
export function readColumns(table: ParquetTable, columns: string[], slice?: { offset: number; length: number }): DataFrame {
  return readExprs(table, columns.map((c) => pl.col(c)), columns.length === 1 ? columns[0] : undefined, slice);
}
