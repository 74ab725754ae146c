/**
 * Whole-file validation of a data root: each of the seven tables that is present is loaded with every check on
 * (stored history length, `validate: true`) and reported as ok / invalid / absent. Used by `mmctr validate`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MICROLENS_DIMS, TABLE_NAMES, microlensTables, type TableName, type Vocab } from './schema';
import { DataError } from './errors';
import { inferVocab, loadItemEmbeddings, loadItemFeatures, loadItemInfo, loadItemSequences, loadSplit, type LoadOptions } from './load';
import { releaseMemory } from '../util/memory';

export type TableStatus = 'ok' | 'absent' | 'invalid';

export interface TableReport {
  table: TableName;
  /** `<root>/<spec path>`. */
  file: string;
  status: TableStatus;
  /** Rows loaded (status ok), else null. */
  rows: number | null;
  /** The first problem found (status invalid), else null. */
  error: DataError | null;
  seconds: number;
}

export interface ValidateDatasetOptions {
  /** Tables to check. Default: all seven. */
  tables?: readonly TableName[];
  /** Vocabulary bounds. Default: inferred from the root (see `inferVocab`). */
  vocab?: Vocab;
  /** Called after each table, e.g. to print progress. */
  onTable?: (report: TableReport) => void;
}

/** Loads one table with every check on; absent files are reported, not thrown. Bugs (non-DataErrors) propagate. */
export async function validateTable(root: string, table: TableName, vocab: Vocab = inferVocab(root)): Promise<TableReport> {
  const file = path.join(root, microlensTables(vocab)[table].path);
  const t0 = performance.now();
  const report = (status: TableStatus, rows: number | null, error: DataError | null): TableReport => ({
    table,
    file,
    status,
    rows,
    error,
    seconds: (performance.now() - t0) / 1000,
  });
  if (!existsSync(file)) return report('absent', null, null);
  const opts: LoadOptions = { vocab, validate: true, seqLen: MICROLENS_DIMS.storedSeqLen };
  try {
    const rows = await loadRows(root, table, opts);
    return report('ok', rows, null);
  } catch (err) {
    if (err instanceof DataError) return report('invalid', null, err);
    throw err;
  } finally {
    await releaseMemory();
  }
}

async function loadRows(root: string, table: TableName, opts: LoadOptions): Promise<number> {
  switch (table) {
    case 'train':
    case 'valid':
    case 'test':
      return (await loadSplit(root, table, opts)).rows;
    case 'item_info':
      return (await loadItemInfo(root, opts)).rows;
    case 'item_feature':
      return (await loadItemFeatures(root, opts)).rows;
    case 'item_emb':
      return (await loadItemEmbeddings(root, opts)).rows;
    case 'item_seq':
      return (await loadItemSequences(root, opts)).rows;
    default: {
      const never: never = table;
      throw new Error(`unknown table ${String(never)}`);
    }
  }
}

/** Validates the tables asked for (default all seven), one after the other. */
export async function validateDataset(root: string, options: ValidateDatasetOptions = {}): Promise<TableReport[]> {
  const vocab = options.vocab ?? inferVocab(root);
  const reports: TableReport[] = [];
  for (const table of options.tables ?? TABLE_NAMES) {
    const r = await validateTable(root, table, vocab);
    options.onTable?.(r);
    reports.push(r);
  }
  return reports;
}
