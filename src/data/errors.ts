/**
 * Typed errors of the data layer. Every problem found in a MicroLens file is a `DataError` whose `code` says what
 * kind of problem it is and whose message names the file, the column, the first offending row (0-based) and its
 * value, so that one printed line is enough to find the fault.
 */
import { MmctrError } from '../errors';

/** What is wrong with a data file. */
export type DataErrorCode =
  /** The file does not exist. */
  | 'missingFile'
  /** The file exists but is not a readable parquet file (truncated, corrupt, a directory...). */
  | 'unreadable'
  /** A required column is absent. */
  | 'missingColumn'
  /** A column has a dtype that cannot hold what the schema says (a float id, a string label, a list of strings...). */
  | 'wrongDtype'
  /** A fixed-length list column holds a row of another length. */
  | 'wrongListLength'
  /** An id or level lies outside its vocabulary range (or does not fit in 32 bits). */
  | 'outOfRange'
  /** NaN or ±Infinity in an embedding. */
  | 'nonFinite'
  /** A label that is not exactly 0 or 1. */
  | 'badLabel'
  /** A null where a value is required. */
  | 'nullValue'
  /** train / valid / test without a single row. */
  | 'emptySplit'
  /** An item table without a single row. */
  | 'emptyTable'
  /** The same key twice in a table whose key must be unique (item tables). */
  | 'duplicateKey'
  /** item_info: `item_id` differs from the row index (row index == item_id, row 0 is padding). */
  | 'badRowIndex';

export interface DataErrorDetails {
  code: DataErrorCode;
  /** Path of the file, as the loader opened it. */
  file: string;
  column?: string;
  /** First offending row, 0-based. */
  row?: number;
  /** The offending value, as read (stringified for bigints, NaN, lists). */
  value?: string | number;
  /** What went wrong, in words (completes the located prefix). */
  detail: string;
  cause?: unknown;
}

/** A problem in a MicroLens data file. */
export class DataError extends MmctrError {
  readonly code: DataErrorCode;
  readonly file: string;
  readonly column: string | undefined;
  readonly row: number | undefined;
  readonly value: string | number | undefined;

  constructor(details: DataErrorDetails) {
    super(formatDataError(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.file = details.file;
    this.column = details.column;
    this.row = details.row;
    this.value = details.value;
  }
}

/** `<file>: column "c", row 12: <detail>` — the prefix parts appear only where they apply. */
function formatDataError(d: DataErrorDetails): string {
  const where = [d.file];
  if (d.column !== undefined) where.push(`column "${d.column}"`);
  if (d.row !== undefined) where.push(`row ${d.row}`);
  return `${where.join(', ')}: ${d.detail}`;
}

/** An invalid option passed to a loader (not a data problem). */
export class LoadOptionError extends MmctrError {
  readonly option: string;
  constructor(option: string, value: unknown, expected: string) {
    super(`invalid option ${option} = ${String(value)}: expected ${expected}`);
    this.option = option;
  }
}

/** Formats a value read from a file for a message: numbers as-is, NaN/Infinity spelled out, nulls as `null`. */
export function showValue(v: unknown): string | number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}
