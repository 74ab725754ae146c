/**
 * `mmctr validate --data <root>`: checks every MicroLens file present under a data root (all checks on, stored
 * history length) and prints one line per file: rows and OK, the error, or "absent". Exits non-zero with one line
 * when a file is invalid or when no file is present.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { MmctrError } from '../errors';
import { TABLE_NAMES, type TableName } from '../data/schema';
import { validateDataset, type TableReport } from '../data/validateDataset';

/** `--data <root>`: must be an existing directory. */
export function parseDataRoot(value: string | undefined): string {
  if (value === undefined || value === '') throw new MmctrError('--data <root> is required (the folder that holds MicroLens_1M_x1/)');
  if (!existsSync(value) || !statSync(value).isDirectory()) throw new MmctrError(`--data ${value}: no such directory`);
  return value;
}

/** `--tables a,b`: names of the MicroLens schema; default all seven. */
export function parseTables(value: string | undefined): TableName[] {
  if (value === undefined) return [...TABLE_NAMES];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new MmctrError(`--tables: empty list (expected some of: ${TABLE_NAMES.join(', ')})`);
  for (const n of names) {
    if (!(TABLE_NAMES as readonly string[]).includes(n)) {
      throw new MmctrError(`--tables: unknown table "${n}" (expected some of: ${TABLE_NAMES.join(', ')})`);
    }
  }
  return names as TableName[];
}

export const DATA_ROOT_HELP = 'data root holding MicroLens_1M_x1/{train,valid,test,item_info}.parquet and item_{feature,emb,seq}.parquet';
export const TABLES_HELP = `comma-separated tables (default: all seven: ${TABLE_NAMES.join(', ')})`;

export interface ValidateCommandOptions {
  /** Data root. Required. */
  data?: string;
  /** Comma-separated table names. Default: all seven. */
  tables?: string;
}

/** One report line: table, file relative to the root, then rows + OK, "absent", or the error message. */
export function formatReportLine(root: string, r: TableReport): string {
  const file = path.relative(root, r.file);
  const head = `${r.table.padEnd(13)} ${file.padEnd(34)}`;
  switch (r.status) {
    case 'ok':
      return `${head} ${(r.rows ?? 0).toLocaleString('en-US').padStart(11)} rows  OK  (${r.seconds.toFixed(1)} s)`;
    case 'absent':
      return `${head} ${'-'.padStart(11)}       absent`;
    case 'invalid':
      return `${head} ${'-'.padStart(11)}       INVALID [${r.error?.code}]: ${r.error?.message}`;
    default: {
      const never: never = r.status;
      return String(never);
    }
  }
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('Check the MicroLens_1M_x1 parquet files under a data root: columns, dtypes, list lengths, id ranges, labels, embeddings')
    .option('--data <root>', DATA_ROOT_HELP)
    .option('--tables <names>', TABLES_HELP)
    .addHelpText(
      'after',
      [
        '',
        'Each file present is read in full with every check on; absent files are listed and skipped.',
        'Integer widths, int/float/bool labels, list / large_list / fixed-size lists and float32/float64 embeddings',
        'are all accepted. The id vocabulary comes from item_info.parquet when present (item ids 1..rows-1).',
        'Exit status 1 with one line naming the file, column, row and value when a file is invalid.',
        '',
        'Example: mmctr validate --data data/full',
      ].join('\n'),
    )
    .action(async (opts: ValidateCommandOptions) => {
      const root = parseDataRoot(opts.data);
      const tables = parseTables(opts.tables);
      const reports = await validateDataset(root, {
        tables,
        onTable: (r) => process.stdout.write(formatReportLine(root, r) + '\n'),
      });
      const present = reports.filter((r) => r.status !== 'absent');
      if (present.length === 0) {
        throw new MmctrError(`no MicroLens files under ${root} (looked for: ${reports.map((r) => path.relative(root, r.file)).join(', ')})`);
      }
      const invalid = present.filter((r) => r.status === 'invalid');
      if (invalid.length > 0) {
        const first = invalid[0].error?.message ?? invalid[0].table;
        throw new MmctrError(`invalid data: ${invalid.length} of ${present.length} files failed; first: ${first}`);
      }
      process.stdout.write(`all ${present.length} files present are valid\n`);
    });
}
